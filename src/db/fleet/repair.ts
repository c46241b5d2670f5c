import type { IndexReference } from '../layouts/reference.js';
import { ident } from '../../lib/sqlIdent.js';
import { table } from '../inspect/source.js';
import type { SqlRunner } from '../sqlRunner.js';

// The DDL `schemas repair` runs: only statements that add (a nullable column, a default for
// future rows, an index, a trigger and its function), each schema-qualified and idempotent
// (`if not exists`), so a run cut short and started again goes on where it stopped.

/** An additive fix, as doctor proposes it. */
export type Fix =
  | { kind: 'add_column'; table: string; column: string; type: string; default: string | null }
  | { kind: 'set_default'; table: string; column: string; default: string }
  | { kind: 'create_index'; table: string; index: IndexReference; rebuild: boolean }
  | { kind: 'create_trigger'; table: string; trigger: string; function: string };

export interface RepairStatement {
  sql: string;
  /**
   * false: CREATE/DROP INDEX CONCURRENTLY, which PostgreSQL runs only outside a transaction.
   * It takes a lock that never blocks reads or writes, and an interrupted build leaves an
   * INVALID index that the next doctor reports and the next repair drops and builds again.
   */
  transactional: boolean;
}

const BUILT_IN = /^(uuid|jsonb|text|integer|bigint|boolean|timestamp with time zone|character varying\(\d+\))$/;

/** A type of the reference: built-in as written, one of the schema (our enum) qualified with it. */
function typeSql(schema: string, type: string): string {
  return BUILT_IN.test(type) ? type : `${ident(schema)}.${ident(type)}`;
}

/** A default of the reference with a cast to a type of the schema qualified too. */
function defaultSql(schema: string, type: string, expr: string): string {
  return BUILT_IN.test(type) ? expr : expr.split(`::${type}`).join(`::${typeSql(schema, type)}`);
}

/**
 * The statements for a schema's fixes, in the order they must run: columns and defaults, then
 * trigger functions and triggers (one transaction), then indexes. `concurrently`: build indexes
 * without blocking writes (PostgreSQL); the embedded database builds them in the transaction.
 * `columnTypes`: the reference type of each table.column (for defaults on existing columns).
 */
export function repairStatements(schema: string, fixes: readonly Fix[], opts: { concurrently: boolean; functions: readonly string[]; columnTypes: ReadonlyMap<string, string> }): RepairStatement[] {
  const t = (name: string) => table({ schema }, name);
  const tx = (sql: string): RepairStatement => ({ sql, transactional: true });
  const out: RepairStatement[] = [];
  for (const f of fixes) {
    if (f.kind === 'add_column') {
      out.push(tx(`alter table ${t(f.table)} add column if not exists ${ident(f.column)} ${typeSql(schema, f.type)}`));
      if (f.default !== null) out.push(tx(`alter table ${t(f.table)} alter column ${ident(f.column)} set default ${defaultSql(schema, f.type, f.default)}`));
    }
    if (f.kind === 'set_default') {
      const type = opts.columnTypes.get(`${f.table}.${f.column}`) ?? 'text';
      out.push(tx(`alter table ${t(f.table)} alter column ${ident(f.column)} set default ${defaultSql(schema, type, f.default)}`));
    }
  }
  const made = new Set(opts.functions);
  for (const f of fixes) {
    if (f.kind !== 'create_trigger') continue;
    if (!made.has(f.function)) {
      made.add(f.function);
      out.push(tx(`create function ${t(f.function)}() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$`));
    }
    out.push(tx(`create trigger ${ident(f.trigger)} before update on ${t(f.table)} for each row execute function ${t(f.function)}()`));
  }
  const concurrently = opts.concurrently ? ' concurrently' : '';
  for (const f of fixes) {
    if (f.kind !== 'create_index') continue;
    if (f.rebuild) out.push({ sql: `drop index${concurrently} if exists ${t(f.index.name)}`, transactional: !opts.concurrently });
    out.push({ sql: `create index${concurrently} if not exists ${ident(f.index.name)} on ${t(f.table)} ${f.index.definition}`, transactional: !opts.concurrently });
  }
  return out;
}

/**
 * Runs a schema's transactional statements in one transaction: a short lock_timeout, so an
 * ALTER queued behind a long query gives up instead of stalling every query queued behind it,
 * and a transaction-scoped advisory lock, so two repairs of one schema take turns. Both are
 * transaction-local: they hold through a transaction pooler.
 */
export async function runRepairTransaction(sql: SqlRunner, schema: string, statements: readonly string[], lockTimeoutSeconds: number): Promise<void> {
  if (statements.length === 0) return;
  await sql.transaction(async (tx) => {
    await tx.query(`select set_config('lock_timeout', ?, true)`, [`${Math.round(lockTimeoutSeconds * 1000)}ms`]);
    await tx.query(`select pg_advisory_xact_lock(hashtext(?))`, [`bindu-db repair ${schema}`]);
    for (const statement of statements) await tx.query(statement);
  });
}

/**
 * One statement on its own, outside any transaction (CREATE INDEX CONCURRENTLY). When `signal`
 * aborts (Ctrl-C) the server is asked to cancel it: a build whose client just goes away runs on
 * to its end, and leaves nothing for the next run to take over but a wait.
 */
export async function runRepairStatement(sql: SqlRunner, statement: string, signal?: AbortSignal): Promise<void> {
  const cancel = () => void sql.query('select pg_cancel_backend(pid) from pg_stat_activity where query = ? and pid <> pg_backend_pid()', [statement]).catch(() => undefined);
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    await sql.query(statement);
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}
