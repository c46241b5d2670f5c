import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Database, Session } from '../db/connect.js';
import {
  MIGRATION_TABLE,
  type AppliedMigrationRow,
  type LockHolder,
  type TableLockHolder,
  ensureMigrationTable,
  findLockHolder,
  findTableLockHolder,
  hasMigrationTable,
  listAppliedMigrations,
  nextBatch,
  parseMigrationApplicationName,
  recordApplied,
  recordChecksum,
  recordReverted,
  selectAppliedMigrations,
  terminateBackend,
  withMigrationLock,
} from '../db/migrationLog.js';
import { alembicVersion, detectLayout } from '../db/layouts/detect.js';
import { type SqlRunner, knexRunner } from '../db/sqlRunner.js';
import type { Timestamp } from '../db/timestamps.js';
import { CancelledError, OperationError, RefusedError, UsageError, userCodeError } from '../errors.js';
import { signalsSeen } from '../lib/process.js';
import type { Migration, MigrationModule } from './migrationFiles.js';

export type { LockHolder, TableLockHolder } from '../db/migrationLog.js';

export interface MigrationHistoryItem {
  name: string;
  state: 'applied' | 'pending';
  batch: number | null;
  applied_at: Timestamp | null;
  /** The directory its file is in (the package's or the project's); null when the file is missing. */
  dir: string | null;
  /** Applied, and its file changed since (its checksum differs from the one recorded). */
  changed?: true;
  /** Applied in the database but no file defines it any more. */
  file_missing?: true;
}

export interface RunOptions {
  lockTimeoutSeconds: number;
  /**
   * lock_timeout of each migration statement (default 5 s): an ALTER TABLE queued behind a
   * long transaction gives up instead of making every reader of the table wait behind it.
   */
  ddlLockTimeoutSeconds?: number;
  /** How many more times a migration that ran out of lock time is tried (default 3). */
  ddlRetries?: number;
  /** Called before a migration that ran out of lock time is tried again, after `delaySeconds`. */
  onLockRetry?: (retry: LockRetry) => void;
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

/** A migration that waited longer than its lock_timeout, and what it waited for. */
export interface LockRetry {
  name: string;
  /** 1 for the first retry. */
  attempt: number;
  retries: number;
  delaySeconds: number;
  holder?: TableLockHolder;
  /** The lock and its holder in words: `on "bindu"."tasks" (AccessShareLock) held by backend 123 (…)`. */
  lock: string;
}

export interface UpOptions extends RunOptions {
  to?: string;
  step?: number;
  /** Applied migrations whose edited files are accepted as they are now (their new checksum is recorded). */
  acceptChanged?: string[];
  /** The batch to record them in (default: the next): a data directory made at the head in this run holds this run's first batch. */
  batch?: number;
}

/** Which applied migrations to revert: the newest `step` (default 1), all after `to`, or `all`. */
export interface DownRange {
  to?: string;
  step?: number;
  all?: boolean;
}

export interface DownOptions extends RunOptions, DownRange {}

export interface MigrationStatus {
  applied: number;
  pending: string[];
  /** Applied migrations whose file changed since they were applied. */
  changed: string[];
  locked: boolean;
  lock_holder?: LockHolder;
  /** Set when Bindu's server (Alembic) manages this database: the revision in public.alembic_version. */
  alembic_version?: string | null;
  /** Set when the schema holds the server's layout, which our migrations never touch. */
  layout?: 'bindu-server';
}

export interface MigrationHistory {
  items: MigrationHistoryItem[];
  head: string | null;
  layout?: 'bindu-server';
}

/** Applied migrations whose file no longer has the checksum recorded for it. */
function changedFiles(migrations: Migration[], rows: AppliedMigrationRow[]): string[] {
  const byName = new Map(migrations.map((m) => [m.name, m]));
  return rows.filter((r) => r.checksum !== null && byName.has(r.name) && byName.get(r.name)!.checksum !== r.checksum).map((r) => r.name);
}

/**
 * The one computation behind both `migrate status` and `migrate history`, so they never disagree.
 * A schema of the server's layout is not ours to migrate: nothing of ours is pending there.
 */
async function migrationState(db: Database, migrations: Migration[]): Promise<MigrationStatus & MigrationHistory> {
  // On the plain SQL runner: status and history load neither knex nor any migration module.
  const rows = await listAppliedMigrations(db.sql, db.schema);
  const holder = db.kind === 'embedded' ? undefined : await findLockHolder(db.sql, db.schema);
  const alembic = await alembicVersion(db.sql);
  const server = (await detectLayout(db.sql, db.schema))?.layout === 'bindu-server';
  const applied = new Map(rows.map((r) => [r.name, r]));
  const changed = new Set(changedFiles(migrations, rows));
  const items: MigrationHistoryItem[] = migrations
    .filter((m) => !server || applied.has(m.name))
    .map(({ name, dir }) => {
      const row = applied.get(name);
      return { name, state: row ? 'applied' : 'pending', batch: row?.batch ?? null, applied_at: row?.applied_at ?? null, dir, ...(changed.has(name) ? { changed: true as const } : {}) };
    });
  const known = new Set(migrations.map((m) => m.name));
  for (const row of rows) {
    if (!known.has(row.name)) items.push({ name: row.name, state: 'applied', batch: row.batch, applied_at: row.applied_at, dir: null, file_missing: true });
  }
  return {
    items,
    head: migrations.at(-1)?.name ?? null,
    applied: applied.size,
    pending: items.filter((i) => i.state === 'pending').map((i) => i.name),
    changed: [...changed],
    locked: holder !== undefined,
    ...(holder ? { lock_holder: holder } : {}),
    ...(alembic !== undefined ? { alembic_version: alembic } : {}),
    ...(server ? { layout: 'bindu-server' as const } : {}),
  };
}

export async function history(db: Database, migrations: Migration[]): Promise<MigrationHistory> {
  const { items, head, layout } = await migrationState(db, migrations);
  return { items, head, ...(layout ? { layout } : {}) };
}

export async function status(db: Database, migrations: Migration[]): Promise<MigrationStatus> {
  const { items: _items, head: _head, ...s } = await migrationState(db, migrations);
  return s;
}

/**
 * Our migrations never touch what Bindu's server manages: a schema holding its layout, or the
 * public schema of a database Alembic manages (the server keeps legacy tables there). Returns
 * why not, or undefined when they may run.
 */
async function whyNotMigratable(db: Database): Promise<RefusedError | undefined> {
  const found = await detectLayout(db.sql, db.schema);
  if (found?.layout === 'bindu-server') {
    return new RefusedError(
      `schema "${db.schema}" holds Bindu server tables (managed by its Alembic migrations); bindu-db migrations never touch them`,
      'inspect and back it up with bindu-db; migrate it with the server (alembic upgrade head)',
    );
  }
  if (db.schema === 'public' && !found && !(await hasMigrationTable(db.sql, db.schema)) && (await alembicVersion(db.sql)) !== undefined) {
    return new RefusedError(
      'this database is managed by Alembic (public.alembic_version exists); bindu-db will not create its tables in its public schema',
      'use a schema of your own: --schema bindu',
    );
  }
  return undefined;
}

async function assertMigratable(db: Database): Promise<void> {
  const why = await whyNotMigratable(db);
  if (why) throw why;
}

/** Whether our migrations may run in the configured schema: the embedded database's automatic migration leaves the server's schemas alone. */
export async function migratable(db: Database): Promise<boolean> {
  return (await whyNotMigratable(db)) === undefined;
}

/** Names of the migrations not yet applied, in order (for inspection commands' warning). */
export async function pendingMigrations(db: Database, migrations: Migration[]): Promise<string[]> {
  return (await status(db, migrations)).pending;
}

/**
 * Nothing for `up` to do: every migration is applied and each row has its checksum (none to
 * fill in). Read without the lock or any DDL: what an embedded command checks before migrating.
 */
export async function upToDate(db: Database, migrations: Migration[]): Promise<boolean> {
  const rows = await listAppliedMigrations(db.sql, db.schema);
  const applied = new Set(rows.map((r) => r.name));
  return rows.every((r) => r.checksum !== null) && migrations.every((m) => applied.has(m.name));
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

/**
 * Edited migrations: applied ones whose file changed stop `up` from going past them unless
 * accepted (the new checksum is recorded). Rows from before checksums get theirs filled.
 * Returns the changed migrations left as they are (nothing was pending past them).
 */
async function reconcileChecksums(k: SqlRunner, schema: string, migrations: Migration[], rows: AppliedMigrationRow[], opts: UpOptions, pending: number): Promise<{ changed: string[]; accepted: string[] }> {
  const changed = changedFiles(migrations, rows);
  const accepted = opts.acceptChanged ?? [];
  const unknown = accepted.filter((n) => !changed.includes(n));
  if (unknown.length) throw new UsageError(`--accept-changed ${unknown[0]}: not an applied migration whose file changed`, changed.length ? `changed: ${changed.join(', ')}` : 'no applied migration has changed');
  const refused = changed.filter((n) => !accepted.includes(n));
  if (refused.length && pending > 0) {
    throw new RefusedError(
      `${refused.length === 1 ? 'migration' : 'migrations'} ${refused.join(', ')} changed since applied; not applying what comes after`,
      `restore the file as it was applied, or accept it as it is now: bindu-db migrate up ${refused.map((n) => `--accept-changed ${n}`).join(' ')}`,
    );
  }
  const byName = new Map(migrations.map((m) => [m.name, m]));
  for (const row of rows) {
    const file = byName.get(row.name);
    if (file && (row.checksum === null || accepted.includes(row.name))) await recordChecksum(k, schema, row.name, file.checksum);
  }
  return { changed: refused, accepted };
}

type Loaded = Migration & { module: MigrationModule };

/** Imports the migrations about to run, all before the first runs: one that fails to load changes nothing. */
async function loadAll(migrations: Migration[]): Promise<Loaded[]> {
  return Promise.all(migrations.map(async (m) => ({ ...m, module: await m.load() })));
}

/** What `up` did; `changed`/`accepted` only when some applied migration's file changed. */
export interface UpResult {
  batch: number | null;
  applied: string[];
  changed?: string[];
  accepted?: string[];
}

const edits = (c: { changed: string[]; accepted: string[] }) => ({ ...(c.changed.length ? { changed: c.changed } : {}), ...(c.accepted.length ? { accepted: c.accepted } : {}) });

/** Applies pending migrations, each in its own transaction, under the migration lock, on one connection. */
export async function up(db: Database, migrations: Migration[], opts: UpOptions): Promise<UpResult> {
  await assertMigratable(db);
  return withMigrationLock(db, lockOptions(opts), async (session) => {
    if (opts.dryRun) {
      return dryRun(session, opts, async (trx) => {
        await ensureMigrationTable(knexRunner(trx), db.schema);
        const rows = await selectAppliedMigrations(knexRunner(trx), db.schema);
        const selected = selectPending(migrations, new Set(rows.map((r) => r.name)), opts);
        const checks = await reconcileChecksums(knexRunner(trx), db.schema, migrations, rows, opts, selected.length);
        const todo = await loadAll(selected);
        for (const m of todo) await runOne(m, 'up', trx, opts);
        return { batch: null, applied: todo.map((m) => m.name), ...edits(checks) };
      });
    }
    await ensureMigrationTable(session.sql, db.schema);
    const appliedRows = await selectAppliedMigrations(session.sql, db.schema);
    const selected = selectPending(migrations, new Set(appliedRows.map((r) => r.name)), opts);
    const checks = await reconcileChecksums(session.sql, db.schema, migrations, appliedRows, opts, selected.length);
    const todo = await loadAll(selected);
    if (todo.length === 0) return { batch: null, applied: [], ...edits(checks) };
    const batch = opts.batch ?? nextBatch(appliedRows);
    const done: string[] = [];
    for (const m of todo) {
      await runRetrying(db, session, m, opts, (tx) => runOne(m, 'up', tx.knex, opts).then(() => recordApplied(tx.sql, db.schema, m.name, batch, m.checksum)));
      done.push(m.name);
    }
    return { batch, applied: done, ...edits(checks) };
  });
}

function lockOptions(opts: RunOptions) {
  return { timeoutSeconds: opts.lockTimeoutSeconds, ddlLockTimeoutSeconds: opts.ddlLockTimeoutSeconds ?? 5, onWait: opts.onWait };
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
    if (!m) throw new OperationError(`cannot revert ${r.name}: its migration file is missing`, 'restore the file to its migrations directory first');
    return m;
  });
}

/** What `down` with these options would revert, newest first (for the confirmation prompt). */
export async function planDown(db: Database, migrations: Migration[], opts: DownRange): Promise<string[]> {
  await assertMigratable(db);
  return selectToRevert(migrations, await listAppliedMigrations(db.sql, db.schema), opts).map((m) => m.name);
}

/** Reverts applied migrations, newest first, each in its own transaction, on one connection. */
export async function down(db: Database, migrations: Migration[], opts: DownOptions): Promise<{ reverted: string[] }> {
  await assertMigratable(db);
  return withMigrationLock(db, lockOptions(opts), async (session) => {
    if (opts.dryRun) {
      return dryRun(session, opts, async (trx) => {
        const todo = await loadAll(selectToRevert(migrations, await listAppliedMigrations(knexRunner(trx), db.schema), opts));
        for (const m of todo) await runOne(m, 'down', trx, opts);
        return { reverted: todo.map((m) => m.name) };
      });
    }
    const todo = await loadAll(selectToRevert(migrations, await listAppliedMigrations(session.sql, db.schema), opts));
    const done: string[] = [];
    for (const m of todo) {
      await runRetrying(db, session, m, opts, (tx) => runOne(m, 'down', tx.knex, opts).then(() => recordReverted(tx.sql, db.schema, m.name)));
      done.push(m.name);
    }
    return { reverted: done };
  });
}

/**
 * Runs a migration in its transaction; when a statement ran out of lock_timeout, the transaction
 * has rolled back, so it is tried again after a pause (twice as long each time), leaving readers
 * the table in between. A migration outside a transaction may be half done: never retried.
 */
async function runRetrying(db: Database, session: Session, m: Loaded, opts: RunOptions, work: (tx: Session) => Promise<void>): Promise<void> {
  const retries = opts.ddlRetries ?? 3;
  const timeout = opts.ddlLockTimeoutSeconds ?? 5;
  const ours = (sql: SqlRunner): Session => ({ sql, knex: rawOnly(sql) });
  const run = (): Promise<void> => {
    if (m.origin === 'package') return m.module.transaction === false ? work(ours(session.sql)) : session.sql.transaction((tx) => work(ours(tx)));
    return m.module.transaction === false ? work(session) : session.knex.transaction((trx) => work({ sql: knexRunner(trx), knex: trx }));
  };
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (db.kind === 'embedded' || m.module.transaction === false || !isLockTimeout(err)) throw err;
      const holder = await findTableLockHolder(session.sql, db.schema).catch(() => undefined);
      if (attempt > retries) throw lockTimeoutError(m.name, attempt, timeout, holder, err);
      const delaySeconds = Math.min(MAX_RETRY_DELAY_SECONDS, (timeout / 2) * 2 ** (attempt - 1));
      opts.onLockRetry?.({ name: m.name, attempt, retries, delaySeconds, holder, lock: describeTableLockHolder(holder) });
      try {
        await sleep(delaySeconds * 1000, undefined, { signal: opts.signal });
      } catch {
        throw new CancelledError(`interrupted while ${m.name} waited to retry; the migrations before it are complete`);
      }
    }
  }
}

/**
 * What the package's own migrations are handed: they only ever call `knex.raw(sql)` (and their
 * files are the ones the manifest checksums), so they get that one method on our runner, in
 * their transaction on the same connection. knex itself (~100 ms to load, most of an `up` on a
 * fresh database) is loaded only for a project's migrations, which may use all of it.
 */
function rawOnly(sql: SqlRunner): Knex {
  // As knex.raw without bindings: a `?` (jsonb's operator) is text, not a placeholder.
  return { raw: (statement: string) => sql.query(statement.replace(/\?/g, '\\?')) } as unknown as Knex;
}

const MAX_RETRY_DELAY_SECONDS = 30;

const isLockTimeout = (err: unknown): boolean => ((err as { cause?: { code?: string } }).cause ?? (err as { code?: string }))?.code === '55P03';

/** Who held the lock, as one clause: `held by backend 123 ("nightly-report", idle in transaction since 10:01:02)`. */
function describeTableLockHolder(h: TableLockHolder | undefined): string {
  if (!h) return 'held by a session that has since finished';
  const since = h.xact_start ?? h.query_start;
  const what = [h.application_name ? `"${h.application_name}"` : 'no application_name', h.state && `${h.state}${since ? ` since ${new Date(since).toISOString()}` : ''}`]
    .filter(Boolean)
    .join(', ');
  return `on ${h.table} (${h.mode}) held by backend ${h.pid} (${what})`;
}

function lockTimeoutError(name: string, tries: number, timeout: number, holder: TableLockHolder | undefined, err: unknown): OperationError {
  return new OperationError(
    `migration ${name} gave up after ${tries} tries of ${timeout}s each waiting for a lock ${describeTableLockHolder(holder)}; nothing of it was applied`,
    `let that transaction finish${holder ? ` (or end it: select pg_terminate_backend(${holder.pid}))` : ''} and run migrate up again, or wait longer with --ddl-lock-timeout`,
    err,
  );
}

async function runOne(m: Loaded, direction: 'up' | 'down', k: Knex, opts: RunOptions): Promise<void> {
  // PGlite runs in-process and may not yield otherwise: a pending Ctrl-C is delivered here.
  await signalsSeen();
  if (opts.signal?.aborted) throw new CancelledError(`interrupted before ${m.name}; the migrations before it are complete`);
  opts.onStep?.(m.name);
  try {
    await m.module[direction](k);
  } catch (err) {
    throw migrationError(m.name, direction, err);
  }
  // Interrupted while it ran: its transaction rolls back, as it would had the process gone.
  if (opts.signal?.aborted && m.module.transaction !== false) throw new CancelledError(`interrupted during ${m.name}: it was rolled back; the migrations before it are complete`);
}

function migrationError(name: string, direction: 'up' | 'down', err: unknown): OperationError {
  return userCodeError(`migration ${name} ${direction === 'up' ? 'failed' : 'failed to revert'}`, err);
}

class DryRunRollback extends Error {}

/** Runs everything in one transaction, reports each statement, then rolls back: nothing persists. */
async function dryRun<T>(session: Session, opts: RunOptions, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const { knex } = session;
  let result: T | undefined;
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => {
    // Show the migrations' own statements, not transaction control or our bookkeeping.
    if (/^(begin|commit|rollback|savepoint|release savepoint)/i.test(q.sql.trim()) || q.sql.includes(MIGRATION_TABLE)) return;
    // pg placeholders ($1) back to knex's (?) so the bindings can be inlined for reading
    opts.onSql?.(q.bindings?.length ? knex.raw(q.sql.replace(/\$\d+/g, '?'), q.bindings as Knex.RawBinding[]).toString() : q.sql);
  };
  knex.on('query', listener);
  try {
    await knex.transaction(async (trx) => {
      result = await fn(trx);
      throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  } finally {
    knex.removeListener('query', listener);
  }
  return result as T;
}

/**
 * Releases a migration lock left behind: only when its holder is a bindu-db process on this
 * machine that no longer exists (a session the server has not noticed is dead).
 */
export async function unlock(db: Database): Promise<{ released: boolean; holder?: LockHolder }> {
  const holder = db.kind === 'embedded' ? undefined : await findLockHolder(db.sql, db.schema);
  if (!holder) return { released: false };
  const run = parseMigrationApplicationName(holder.application_name);
  const describe = `backend ${holder.pid} (${holder.application_name || 'no application name'}${holder.client_addr ? ` from ${holder.client_addr}` : ''})`;
  if (!run) throw new RefusedError(`the migration lock is held by ${describe}, not by a bindu-db run`, 'stop that session yourself if you are sure it is stuck');
  const { pid, host } = run;
  if (!os.hostname().startsWith(host)) {
    throw new RefusedError(`the migration lock is held by bindu-db pid ${pid} on ${host}`, `check that process on ${host}; if it is gone, its connection will time out`);
  }
  let alive = true;
  try {
    process.kill(Number(pid), 0);
  } catch (err) {
    alive = (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (alive) throw new RefusedError(`the migration lock is held by a running bindu-db process (pid ${pid})`, 'wait for it to finish');
  return { released: await terminateBackend(db.sql, holder.pid), holder };
}
