import os from 'node:os';
import type { Knex } from 'knex';
import type { Database } from '../db/connect.js';
import {
  MIGRATION_TABLE,
  type AppliedMigrationRow,
  type LockHolder,
  ensureMigrationTable,
  findLockHolder,
  listAppliedMigrations,
  nextBatch,
  recordApplied,
  recordReverted,
  terminateBackend,
  withMigrationLock,
} from '../db/migrationLog.js';
import { alembicVersion, detectLayout, hasMigrationTable } from '../db/layouts.js';
import { knexRunner } from '../db/sqlRunner.js';
import { CancelledError, OperationError, RefusedError, UsageError, describePgError, isPgError } from '../errors.js';
import type { Migration } from './migrationFiles.js';

export type { LockHolder } from '../db/migrationLog.js';

export interface MigrationHistoryItem {
  name: string;
  state: 'applied' | 'pending';
  batch: number | null;
  applied_at: Date | null;
  /** Applied in the database but no file defines it any more. */
  file_missing?: true;
}

export interface RunOptions {
  lockTimeoutSeconds: number;
  dryRun?: boolean;
  /** Called before each migration runs. */
  onStep?: (name: string) => void;
  /** Called once when another run holds the lock and this one waits. */
  onWait?: (holder: LockHolder | undefined) => void;
  /** Receives each SQL statement a dry run executes. */
  onSql?: (sql: string) => void;
  /** Aborted (Ctrl-C): stop before the next migration. */
  signal?: AbortSignal;
}

export interface UpOptions extends RunOptions {
  to?: string;
  step?: number;
}

/** Which applied migrations to revert: the newest `step` (default 1), all after `to`, or `all`. */
export interface DownRange {
  to?: string;
  step?: number;
  all?: boolean;
}

export interface DownOptions extends RunOptions, DownRange {}

export async function history(db: Database, migrations: Migration[]): Promise<{ items: MigrationHistoryItem[]; head: string | null }> {
  const applied = new Map((await listAppliedMigrations(db.knex, db.schema)).map((r) => [r.name, r]));
  const items: MigrationHistoryItem[] = migrations.map(({ name }) => {
    const row = applied.get(name);
    return { name, state: row ? 'applied' : 'pending', batch: row?.batch ?? null, applied_at: row?.applied_at ?? null };
  });
  const known = new Set(migrations.map((m) => m.name));
  for (const row of applied.values()) {
    if (!known.has(row.name)) items.push({ name: row.name, state: 'applied', batch: row.batch, applied_at: row.applied_at, file_missing: true });
  }
  return { items, head: migrations.at(-1)?.name ?? null };
}

export interface MigrationStatus {
  applied: number;
  pending: string[];
  locked: boolean;
  lock_holder?: LockHolder;
  /** Set when Bindu's server (Alembic) manages this database: the revision in public.alembic_version. */
  alembic_version?: string | null;
  /** Set when the schema holds the server's layout, which our migrations never touch. */
  layout?: 'bindu-server';
}

export async function status(db: Database, migrations: Migration[]): Promise<MigrationStatus> {
  const applied = new Set((await listAppliedMigrations(db.knex, db.schema)).map((r) => r.name));
  const holder = await findLockHolder(db);
  const alembic = await alembicVersion(knexRunner(db.knex));
  const server = (await detectLayout(knexRunner(db.knex), db.schema))?.layout === 'bindu-server';
  return {
    applied: applied.size,
    pending: server ? [] : migrations.filter((m) => !applied.has(m.name)).map((m) => m.name),
    locked: holder !== undefined,
    ...(holder ? { lock_holder: holder } : {}),
    ...(alembic !== undefined ? { alembic_version: alembic } : {}),
    ...(server ? { layout: 'bindu-server' as const } : {}),
  };
}

/**
 * Our migrations never touch what Bindu's server manages: a schema holding its layout, or the
 * public schema of a database Alembic manages (the server keeps legacy tables there).
 */
async function assertMigratable(db: Database): Promise<void> {
  const found = await detectLayout(knexRunner(db.knex), db.schema);
  if (found?.layout === 'bindu-server') {
    throw new RefusedError(
      `schema "${db.schema}" holds Bindu server tables (managed by its Alembic migrations); bindu-db migrations never touch them`,
      'inspect and back it up with bindu-db; migrate it with the server (alembic upgrade head)',
    );
  }
  if (db.schema === 'public' && !found && !(await hasMigrationTable(knexRunner(db.knex), db.schema)) && (await alembicVersion(knexRunner(db.knex))) !== undefined) {
    throw new RefusedError(
      'this database is managed by Alembic (public.alembic_version exists); bindu-db will not create its tables in its public schema',
      'use a schema of your own: --schema bindu',
    );
  }
}

/** Names of the migrations not yet applied, in order (for inspection commands' warning). */
export async function pendingMigrations(db: Database, migrations: Migration[]): Promise<string[]> {
  return (await status(db, migrations)).pending;
}

function selectPending(migrations: Migration[], applied: Set<string>, opts: UpOptions): Migration[] {
  let pending = migrations.filter((m) => !applied.has(m.name));
  if (opts.to !== undefined) {
    const index = migrations.findIndex((m) => m.name === opts.to);
    if (index < 0) throw new UsageError(`no migration named ${opts.to}`, `known migrations: ${migrations.map((m) => m.name).join(', ')}`);
    const upTo = new Set(migrations.slice(0, index + 1).map((m) => m.name));
    pending = pending.filter((m) => upTo.has(m.name));
  }
  if (opts.step !== undefined) pending = pending.slice(0, opts.step);
  return pending;
}

/** Applies pending migrations, each in its own transaction, under the migration lock. */
export async function up(db: Database, migrations: Migration[], opts: UpOptions): Promise<{ batch: number | null; applied: string[] }> {
  await assertMigratable(db);
  return withMigrationLock(db, opts.lockTimeoutSeconds, async () => {
    if (opts.dryRun) {
      return dryRun(db, opts, async (trx) => {
        await ensureMigrationTable(trx, db.schema);
        const applied = new Set((await listAppliedMigrations(trx, db.schema)).map((r) => r.name));
        const todo = selectPending(migrations, applied, opts);
        for (const m of todo) await runOne(m, 'up', trx, opts);
        return { batch: null, applied: todo.map((m) => m.name) };
      });
    }
    await ensureMigrationTable(db.knex, db.schema);
    const applied = new Set((await listAppliedMigrations(db.knex, db.schema)).map((r) => r.name));
    const todo = selectPending(migrations, applied, opts);
    if (todo.length === 0) return { batch: null, applied: [] };
    const batch = await nextBatch(db.knex);
    const done: string[] = [];
    for (const m of todo) {
      await inTransaction(db, m, (k) => runOne(m, 'up', k, opts).then(() => recordApplied(k, m.name, batch)));
      done.push(m.name);
    }
    return { batch, applied: done };
  }, opts.onWait);
}

function selectToRevert(migrations: Migration[], applied: AppliedMigrationRow[], opts: DownRange): Migration[] {
  const newestFirst = [...applied].reverse();
  let chosen: AppliedMigrationRow[];
  if (opts.all) chosen = newestFirst;
  else if (opts.to !== undefined) {
    const index = newestFirst.findIndex((r) => r.name === opts.to);
    if (index < 0) throw new UsageError(`${opts.to} is not an applied migration`, `applied: ${applied.map((r) => r.name).join(', ') || 'none'}`);
    chosen = newestFirst.slice(0, index); // everything applied after it; it stays applied
  } else chosen = newestFirst.slice(0, opts.step ?? 1);
  const byName = new Map(migrations.map((m) => [m.name, m]));
  return chosen.map((r) => {
    const m = byName.get(r.name);
    if (!m) throw new OperationError(`cannot revert ${r.name}: its migration file is missing`, 'restore the file to migrations/ first');
    return m;
  });
}

/** What `down` with these options would revert, newest first (for the confirmation prompt). */
export async function planDown(db: Database, migrations: Migration[], opts: DownRange): Promise<string[]> {
  await assertMigratable(db);
  return selectToRevert(migrations, await listAppliedMigrations(db.knex, db.schema), opts).map((m) => m.name);
}

/** Reverts applied migrations, newest first, each in its own transaction. */
export async function down(db: Database, migrations: Migration[], opts: DownOptions): Promise<{ reverted: string[] }> {
  await assertMigratable(db);
  return withMigrationLock(db, opts.lockTimeoutSeconds, async () => {
    if (opts.dryRun) {
      return dryRun(db, opts, async (trx) => {
        const todo = selectToRevert(migrations, await listAppliedMigrations(trx, db.schema), opts);
        for (const m of todo) await runOne(m, 'down', trx, opts);
        return { reverted: todo.map((m) => m.name) };
      });
    }
    const todo = selectToRevert(migrations, await listAppliedMigrations(db.knex, db.schema), opts);
    const done: string[] = [];
    for (const m of todo) {
      await inTransaction(db, m, (k) => runOne(m, 'down', k, opts).then(() => recordReverted(k, m.name)));
      done.push(m.name);
    }
    return { reverted: done };
  }, opts.onWait);
}

async function inTransaction(db: Database, m: Migration, fn: (k: Knex) => Promise<void>): Promise<void> {
  if (m.module.transaction === false) return fn(db.knex);
  await db.knex.transaction(fn);
}

async function runOne(m: Migration, direction: 'up' | 'down', k: Knex, opts: RunOptions): Promise<void> {
  // Let the event loop deliver a pending Ctrl-C: PGlite runs in-process and may not yield otherwise.
  await new Promise((resolve) => setImmediate(resolve));
  if (opts.signal?.aborted) throw new CancelledError(`interrupted before ${m.name}; the migrations before it are complete`);
  opts.onStep?.(m.name);
  try {
    await m.module[direction](k);
  } catch (err) {
    throw migrationError(m.name, direction, err);
  }
}

function migrationError(name: string, direction: 'up' | 'down', err: unknown): OperationError {
  const verb = direction === 'up' ? 'failed' : 'failed to revert';
  if (isPgError(err)) {
    const { message, hint, statement } = describePgError(err);
    const hints = [hint, statement && `in: ${statement}`].filter(Boolean).join('; ');
    return new OperationError(`migration ${name} ${verb}: ${message}`, hints || undefined, err);
  }
  return new OperationError(`migration ${name} ${verb}: ${(err as Error)?.message ?? String(err)}`, undefined, err);
}

class DryRunRollback extends Error {}

/** Runs everything in one transaction, reports each statement, then rolls back: nothing persists. */
async function dryRun<T>(db: Database, opts: RunOptions, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => {
    // Show the migrations' own statements, not transaction control or our bookkeeping.
    if (/^(begin|commit|rollback|savepoint|release savepoint)/i.test(q.sql.trim()) || q.sql.includes(MIGRATION_TABLE)) return;
    // pg placeholders ($1) back to knex's (?) so the bindings can be inlined for reading
    opts.onSql?.(q.bindings?.length ? db.knex.raw(q.sql.replace(/\$\d+/g, '?'), q.bindings as Knex.RawBinding[]).toString() : q.sql);
  };
  db.knex.on('query', listener);
  try {
    await db.knex.transaction(async (trx) => {
      result = await fn(trx);
      throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  } finally {
    db.knex.removeListener('query', listener);
  }
  return result as T;
}

/**
 * Releases a migration lock left behind: only when its holder is a bindu-db process on this
 * machine that no longer exists (a session the server has not noticed is dead).
 */
export async function unlock(db: Database): Promise<{ released: boolean; holder?: LockHolder }> {
  const holder = await findLockHolder(db);
  if (!holder) return { released: false };
  const match = /^bindu-db migrate pid=(\d+) host=(.*)$/.exec(holder.application_name);
  const describe = `backend ${holder.pid} (${holder.application_name || 'no application name'}${holder.client_addr ? ` from ${holder.client_addr}` : ''})`;
  if (!match) throw new RefusedError(`the migration lock is held by ${describe}, not by a bindu-db run`, 'stop that session yourself if you are sure it is stuck');
  const [, pid, host] = match;
  if (host !== os.hostname()) {
    throw new RefusedError(`the migration lock is held by bindu-db pid ${pid} on ${host}`, `check that process on ${host}; if it is gone, its connection will time out`);
  }
  let alive = true;
  try {
    process.kill(Number(pid), 0);
  } catch (err) {
    alive = (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (alive) throw new RefusedError(`the migration lock is held by a running bindu-db process (pid ${pid})`, 'wait for it to finish');
  return { released: await terminateBackend(db, holder.pid), holder };
}
