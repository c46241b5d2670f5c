import os from 'node:os';
import type { Database, Session } from './connect.js';
import { ConfigError, OperationError } from '../errors.js';
import { ident } from '../lib/sqlIdent.js';
import type { SqlRunner } from './sqlRunner.js';
import type { Timestamp } from './timestamps.js';

/** The table recording applied migrations, in the configured schema. */
export const MIGRATION_TABLE = 'bindu_db_migrations';

export interface AppliedMigrationRow {
  id: number;
  name: string;
  batch: number;
  applied_at: Timestamp;
  /** Of the migration's source when it was applied; null in rows from before checksums (filled by the next up). */
  checksum: string | null;
}

const logTable = (schema: string) => `${ident(schema)}.${ident(MIGRATION_TABLE)}`;

/**
 * Creates the schema and the table when missing: one statement, one round trip. A table from
 * before checksums gets the column; looked up first, because ALTER TABLE would queue for an
 * exclusive lock behind any long reader (a backup) even when the column is there.
 */
export async function ensureMigrationTable(sql: SqlRunner, schema: string): Promise<void> {
  await sql.query(`do $$ begin
    create schema if not exists ${ident(schema)};
    create table if not exists ${logTable(schema)} (
      id serial primary key,
      name text not null unique,
      batch integer not null,
      applied_at timestamptz not null default now(),
      checksum text
    );
    if not exists (select 1 from pg_catalog.pg_attribute where attrelid = to_regclass('${logTable(schema).replace(/'/g, "''")}') and attname = 'checksum') then
      alter table ${logTable(schema)} add column checksum text;
    end if;
  end $$`);
}

/** Whether our migrations have run in the schema (its migration table exists). */
export async function hasMigrationTable(sql: SqlRunner, schema: string): Promise<boolean> {
  const [row] = await sql.query<{ present: boolean }>('select to_regclass(?) is not null as present', [logTable(schema)]);
  return row.present === true;
}

/** Applied migrations in the order they were applied, from a table known to exist. */
export async function selectAppliedMigrations(sql: SqlRunner, schema: string): Promise<AppliedMigrationRow[]> {
  // select *: a table from before checksums has no checksum column, and reading must not change it.
  const rows = await sql.query<AppliedMigrationRow>(`select * from ${logTable(schema)} order by id`);
  return rows.map(({ id, name, batch, applied_at, checksum }) => ({ id, name, batch, applied_at, checksum: checksum ?? null }));
}

/** Applied migrations in the order they were applied; empty when the table does not exist yet. */
export async function listAppliedMigrations(sql: SqlRunner, schema: string): Promise<AppliedMigrationRow[]> {
  return (await hasMigrationTable(sql, schema)) ? selectAppliedMigrations(sql, schema) : [];
}

/** Names of the applied migrations (for the read-only commands' pending warning). */
export async function listAppliedMigrationNames(sql: SqlRunner, schema: string): Promise<string[]> {
  return (await listAppliedMigrations(sql, schema)).map((r) => r.name);
}

/** The batch number the next run records. */
export const nextBatch = (applied: AppliedMigrationRow[]): number => Math.max(0, ...applied.map((r) => r.batch)) + 1;

export async function recordApplied(sql: SqlRunner, schema: string, name: string, batch: number, checksum: string): Promise<void> {
  await sql.query(`insert into ${logTable(schema)} (name, batch, checksum) values (?, ?, ?)`, [name, batch, checksum]);
}

/** Records the checksum of an applied migration: filling an old row's, or accepting an edited file. */
export async function recordChecksum(sql: SqlRunner, schema: string, name: string, checksum: string): Promise<void> {
  await sql.query(`update ${logTable(schema)} set checksum = ? where name = ?`, [checksum, name]);
}

/**
 * A data directory made from the head template (db/embeddedTemplate.ts) has its log written at
 * build time: it says the migrations were applied when the directory was made, as they would
 * have been had they run then.
 */
export async function restampApplied(sql: SqlRunner, schema: string): Promise<void> {
  await sql.query(`update ${logTable(schema)} set applied_at = now()`);
}

export async function recordReverted(sql: SqlRunner, schema: string, name: string): Promise<void> {
  await sql.query(`delete from ${logTable(schema)} where name = ?`, [name]);
}

// Session-level advisory lock: it dies with its connection, so a killed run can never leave the
// database locked (knex's lock table can). Keyed by schema so agents' schemas migrate independently.
const LOCK_KEY_SQL = "hashtext('bindu-db:migrate'), hashtext(?)";

export interface LockHolder {
  pid: number;
  application_name: string;
  client_addr: string | null;
  backend_start: Timestamp;
}

export interface MigrationLockOptions {
  /** How long to wait for another run holding the lock. */
  timeoutSeconds: number;
  /** lock_timeout of every statement run under the lock (the migrations' own included). */
  ddlLockTimeoutSeconds: number;
  /** Called once if another run holds the lock. */
  onWait?: (holder: LockHolder | undefined) => void;
}

const ms = (seconds: number) => `${Math.max(1, Math.round(seconds * 1000))}ms`;

/**
 * Runs fn on one connection (the lock, the log and the migrations all on it) while holding the
 * migration lock of the schema, waiting at most `timeoutSeconds` for another runner. The
 * session's search_path is the schema (migration code names tables unqualified) and its
 * lock_timeout the DDL one. The embedded database is single-process (its data directory is
 * locked), so it needs no lock.
 */
export async function withMigrationLock<T>(db: Database, opts: MigrationLockOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  if (db.kind === 'embedded') return db.withSession(fn);
  // The lock and search_path live in a session: through a transaction pooler they would not hold.
  if (db.pooler) throw new ConfigError(`${db.label} is pooled (${db.pooler.name}): migrations need the direct endpoint (DIRECT_DATABASE_URL)`);
  return db.withSession(async (session) => {
    const { sql } = session;
    const [tried] = await sql.query<{ got: boolean }>(
      `select pg_try_advisory_lock(${LOCK_KEY_SQL}) as got, set_config('search_path', ?, false), set_config('lock_timeout', ?, false)`,
      [db.schema, ident(db.schema), ms(opts.ddlLockTimeoutSeconds)],
    );
    if (!tried.got) {
      opts.onWait?.(await findLockHolder(sql, db.schema));
      await sql.query(`select set_config('lock_timeout', ?, false)`, [ms(opts.timeoutSeconds)]);
      try {
        await sql.query(`select pg_advisory_lock(${LOCK_KEY_SQL})`, [db.schema]);
      } catch (err) {
        if ((err as { code?: string }).code !== '55P03') throw err;
        throw new OperationError(
          `another migration run still holds the lock after ${opts.timeoutSeconds}s`,
          'wait and retry, raise --lock-timeout, or see who holds it: bindu-db migrate status',
        );
      }
      await sql.query(`select set_config('lock_timeout', ?, false)`, [ms(opts.ddlLockTimeoutSeconds)]);
    }
    try {
      return await fn(session);
    } finally {
      await sql.query(`select pg_advisory_unlock(${LOCK_KEY_SQL})`, [db.schema]).catch(() => undefined);
    }
  });
}

/** The session holding the migration lock of the schema, if any. */
export async function findLockHolder(sql: SqlRunner, schema: string): Promise<LockHolder | undefined> {
  const [row] = await sql.query<LockHolder>(
    `select a.pid, a.application_name, a.client_addr::text as client_addr, a.backend_start
       from pg_catalog.pg_locks l join pg_catalog.pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and l.classid::int = hashtext('bindu-db:migrate') and l.objid::int = hashtext(?)
        and l.database = (select oid from pg_catalog.pg_database where datname = current_database())`,
    [schema],
  );
  return row;
}

/** A session holding a lock on a table of the schema (what a migration statement waited for). */
export interface TableLockHolder {
  table: string;
  mode: string;
  pid: number;
  application_name: string;
  state: string | null;
  xact_start: Date | null;
  query_start: Date | null;
}

/**
 * The other session holding a lock on a table of the schema, the oldest transaction first: after
 * a migration statement ran out of lock_timeout, the one it most likely queued behind. Asked on
 * the migration's own connection once its transaction has rolled back, so its locks are gone.
 */
export async function findTableLockHolder(sql: SqlRunner, schema: string): Promise<TableLockHolder | undefined> {
  const [row] = await sql.query<TableLockHolder>(
    `select format('%I.%I', n.nspname, c.relname) as table, l.mode, a.pid, a.application_name, a.state, a.xact_start, a.query_start
       from pg_catalog.pg_locks l
       join pg_catalog.pg_class c on c.oid = l.relation
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'relation' and l.granted and l.pid <> pg_backend_pid() and n.nspname = ?
        and l.database = (select oid from pg_catalog.pg_database where datname = current_database())
      order by a.xact_start nulls last, a.pid
      limit 1`,
    [schema],
  );
  return row;
}

/** Ends the backend holding the migration lock (for `migrate unlock`). */
export async function terminateBackend(sql: SqlRunner, pid: number): Promise<boolean> {
  const [row] = await sql.query<{ done: boolean }>('select pg_terminate_backend(?) as done', [pid]);
  return row.done === true;
}

/**
 * application_name of a session command's connection (`migrate up` → `bindu-db migrate pid=… host=…`):
 * says who holds the migration lock (see migrate unlock).
 */
export function migrationApplicationName(command: string): string {
  return `bindu-db ${command.split(' ')[0]} pid=${process.pid} host=${os.hostname()}`.slice(0, 63);
}

/** The pid and host of a migration run, read back from its application_name. */
export function parseMigrationApplicationName(name: string): { pid: number; host: string } | undefined {
  const match = /^bindu-db migrate pid=(\d+) host=(.*)$/.exec(name);
  return match ? { pid: Number(match[1]), host: match[2] } : undefined;
}
