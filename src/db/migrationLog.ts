import os from 'node:os';
import type { Knex } from 'knex';
import type { Database } from './connect.js';
import { OperationError } from '../errors.js';
import type { SqlRunner } from './sqlRunner.js';

/** The table recording applied migrations, in the configured schema (found through search_path). */
export const MIGRATION_TABLE = 'bindu_db_migrations';

export interface AppliedMigrationRow {
  id: number;
  name: string;
  batch: number;
  applied_at: Date;
}

export async function ensureMigrationTable(db: Knex, schema: string): Promise<void> {
  await db.raw('create schema if not exists ??', [schema]);
  await db.raw(`create table if not exists ?? (
    id serial primary key,
    name text not null unique,
    batch integer not null,
    applied_at timestamptz not null default now()
  )`, [MIGRATION_TABLE]);
}

async function migrationTableExists(db: Knex, schema: string): Promise<boolean> {
  const { rows } = await db.raw('select to_regclass(?) is not null as present', [`"${schema}".${MIGRATION_TABLE}`]);
  return rows[0].present === true;
}

/** Applied migrations in the order they were applied; empty when the table does not exist yet. */
export async function listAppliedMigrations(db: Knex, schema: string): Promise<AppliedMigrationRow[]> {
  if (!(await migrationTableExists(db, schema))) return [];
  return db<AppliedMigrationRow>(MIGRATION_TABLE).select('id', 'name', 'batch', 'applied_at').orderBy('id');
}

/** Names of the applied migrations, without knex (for the read-only commands' pending warning). */
export async function listAppliedMigrationNames(sql: SqlRunner, schema: string): Promise<string[]> {
  const [t] = await sql.query<{ present: boolean }>('select to_regclass(?) is not null as present', [`"${schema}".${MIGRATION_TABLE}`]);
  if (!t.present) return [];
  return (await sql.query<{ name: string }>(`select name from "${schema}".${MIGRATION_TABLE} order by id`)).map((r) => r.name);
}

export async function nextBatch(db: Knex): Promise<number> {
  const row = await db(MIGRATION_TABLE).max<{ max: number | null }>('batch as max').first();
  return (row?.max ?? 0) + 1;
}

export async function recordApplied(db: Knex, name: string, batch: number): Promise<void> {
  await db(MIGRATION_TABLE).insert({ name, batch });
}

export async function recordReverted(db: Knex, name: string): Promise<void> {
  await db(MIGRATION_TABLE).where({ name }).delete();
}

// Session-level advisory lock: it dies with its connection, so a killed run can never leave the
// database locked (knex's lock table can). Keyed by schema so agents' schemas migrate independently.
const LOCK_KEY_SQL = "hashtext('bindu-db:migrate'), hashtext(?)";

export interface LockHolder {
  pid: number;
  application_name: string;
  client_addr: string | null;
  backend_start: Date;
}

/**
 * Runs fn while holding the migration lock of the schema, waiting at most `timeoutSeconds`
 * for another runner. `onWait` is called once if the lock is busy. The embedded database is
 * single-process (its data directory is locked), so it needs no lock here.
 */
export async function withMigrationLock<T>(
  db: Database,
  timeoutSeconds: number,
  fn: () => Promise<T>,
  onWait?: (holder: LockHolder | undefined) => void,
): Promise<T> {
  if (db.kind === 'embedded') return fn();
  const key = LOCK_KEY_SQL.replace('?', '$1');
  const conn = await db.knex.client.acquireConnection();
  try {
    // Says who holds the lock, for `migrate status` and `migrate unlock`.
    await conn.query(`select set_config('application_name', $1, false)`, [`bindu-db migrate pid=${process.pid} host=${os.hostname()}`.slice(0, 63)]);
    const tried = await conn.query(`select pg_try_advisory_lock(${key}) as got`, [db.schema]);
    if (!tried.rows[0].got) {
      onWait?.(await findLockHolder(db));
      await conn.query(`select set_config('lock_timeout', $1, false)`, [`${Math.max(1, Math.round(timeoutSeconds * 1000))}ms`]);
      try {
        await conn.query(`select pg_advisory_lock(${key})`, [db.schema]);
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        throw new OperationError(
          `another migration run still holds the lock after ${timeoutSeconds}s`,
          'wait and retry, raise --lock-timeout, or see who holds it: bindu-db migrate status',
        );
      } finally {
        await conn.query('reset lock_timeout');
      }
    }
    try {
      return await fn();
    } finally {
      await conn.query(`select pg_advisory_unlock(${key})`, [db.schema]).catch(() => undefined);
    }
  } finally {
    await conn.query('reset application_name').catch(() => undefined);
    await db.knex.client.releaseConnection(conn);
  }
}

/** The session holding the migration lock of the schema, if any. */
export async function findLockHolder(db: Database): Promise<LockHolder | undefined> {
  if (db.kind === 'embedded') return undefined;
  const { rows } = await db.knex.raw(
    `select a.pid, a.application_name, a.client_addr::text as client_addr, a.backend_start
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and l.classid::int = hashtext('bindu-db:migrate') and l.objid::int = hashtext(?)
        and l.database = (select oid from pg_database where datname = current_database())`,
    [db.schema],
  );
  return rows[0];
}

/** Ends the backend holding the migration lock (for `migrate unlock`). */
export async function terminateBackend(db: Database, pid: number): Promise<boolean> {
  const { rows } = await db.knex.raw('select pg_terminate_backend(?) as done', [pid]);
  return rows[0].done === true;
}
