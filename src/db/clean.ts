import type { DumpEntry } from '../lib/dumpContents.js';
import { BINDU_TABLES } from './catalog.js';
import { type LayoutName, layoutOf } from './layouts/detect.js';
import { MIGRATION_TABLE } from './migrationLog.js';
import type { SqlRunner } from './sqlRunner.js';
import { ident } from '../lib/sqlIdent.js';

// restore --clean: what a schema the dump brings holds now, and the statements that clear the way
// for the dump inside the restore's own transaction. Only the dump's schemas are touched, and a
// schema itself is never dropped (public belongs to the database, and may hold other things).

/** The Bindu tables a schema holds now, their layout, and its task count (null: no tasks table). */
export interface SchemaHolding {
  schema: string;
  /** The schema exists at all. */
  exists?: boolean;
  tables: string[];
  layout?: LayoutName;
  tasks?: number | null;
}

/**
 * What each schema holds, in one query plus a count per tasks table. It runs on one bare pg
 * connection (or PGlite), not knex: restore's planning is on its benchmark's path. The layout follows
 * detectLayout's rule (layoutOf) on the tasks table's columns.
 */
export async function schemaHoldings(sql: SqlRunner, schemas: string[]): Promise<SchemaHolding[]> {
  const rows = await sql.query<{ schema: string; exists: boolean; tables: string[]; columns: string[] }>(
    `select s.name as schema, exists (select 1 from pg_namespace n where n.nspname = s.name) as exists,
            coalesce((select array_agg(c.relname::text order by c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
                       where n.nspname = s.name and c.relkind in ('r', 'p') and c.relname = any(?::text[])), '{}') as tables,
            coalesce((select array_agg(a.attname::text order by a.attname) from pg_attribute a
                       where a.attrelid = (select c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                            where n.nspname = s.name and c.relname = 'tasks' and c.relkind in ('r', 'p'))
                         and a.attnum > 0 and not a.attisdropped), '{}') as columns
       from unnest(?::text[]) with ordinality as s(name, i)
      order by s.i`,
    [[...BINDU_TABLES], schemas],
  );
  const holdings: SchemaHolding[] = [];
  for (const r of rows) {
    const layout = layoutOf(r.columns)?.layout;
    holdings.push({ schema: r.schema, exists: r.exists, tables: r.tables, ...(layout ? { layout } : {}), tasks: await countTasksIn(sql, r.schema, r.tables) });
  }
  return holdings;
}

async function countTasksIn(sql: SqlRunner, schema: string, tables: string[]): Promise<number | null> {
  if (!tables.includes('tasks')) return null;
  const [row] = await sql.query<{ n: string }>(`select count(*)::text as n from ${ident(schema)}.tasks`);
  return Number(row.n);
}

/** The database name (for confirmations). */
export async function databaseName(sql: SqlRunner): Promise<string> {
  const [row] = await sql.query<{ name: string }>('select current_database() as name');
  return row.name;
}

const q = (schema: string, name: string) => `${ident(schema)}.${ident(name)}`;

/** f(integer, text) → "schema"."f"(integer, text): pg_dump's tag already spells the argument types as SQL. */
function routine(schema: string, tag: string): string {
  const open = tag.indexOf('(');
  return open < 0 ? `${q(schema, tag)}()` : `${q(schema, tag.slice(0, open))}${tag.slice(open)}`;
}

/**
 * DROP … IF EXISTS … CASCADE for everything the dump creates in its schemas, plus the Bindu
 * tables they hold now (and, in a schema of our layout, our migration log, enum and trigger
 * function, which a dump of the server's layout would otherwise leave behind).
 * CASCADE takes indexes, constraints, triggers and owned sequences with the tables.
 */
export function cleanStatements(entries: DumpEntry[], holdings: SchemaHolding[]): string {
  const tables = new Map<string, string>();
  const other: string[] = [];
  const add = (kind: string, target: string) => {
    const sql = `DROP ${kind} IF EXISTS ${target} CASCADE;`;
    if (!other.includes(sql)) other.push(sql);
  };
  for (const h of holdings) {
    for (const t of h.tables) tables.set(q(h.schema, t), q(h.schema, t));
    if (h.layout === 'bindu-db') {
      tables.set(q(h.schema, MIGRATION_TABLE), q(h.schema, MIGRATION_TABLE));
      add('FUNCTION', routine(h.schema, 'set_updated_at()'));
      add('TYPE', q(h.schema, 'task_status'));
    }
  }
  const schemas = new Set(holdings.map((h) => h.schema));
  for (const e of entries) {
    if (!e.schema || !schemas.has(e.schema)) continue;
    switch (e.type) {
      case 'TABLE':
      case 'FOREIGN TABLE':
        tables.set(q(e.schema, e.name), q(e.schema, e.name));
        break;
      case 'VIEW':
        add('VIEW', q(e.schema, e.name));
        break;
      case 'MATERIALIZED VIEW':
        add('MATERIALIZED VIEW', q(e.schema, e.name));
        break;
      case 'SEQUENCE':
        add('SEQUENCE', q(e.schema, e.name));
        break;
      case 'FUNCTION':
      case 'PROCEDURE':
        add(e.type, routine(e.schema, e.name));
        break;
      case 'TYPE':
      case 'DOMAIN':
        add(e.type, q(e.schema, e.name));
        break;
    }
  }
  // Views first (they depend on tables), then tables, then what tables depended on.
  const views = other.filter((s) => s.startsWith('DROP VIEW') || s.startsWith('DROP MATERIALIZED'));
  const rest = other.filter((s) => !views.includes(s));
  const dropTables = tables.size ? [`DROP TABLE IF EXISTS ${[...tables.values()].join(', ')} CASCADE;`] : [];
  return [...views, ...dropTables, ...rest].map((s) => `${s}\n`).join('');
}

/** The schemas a dump creates, made if missing (public, or an agent's schema, may well exist). */
export function createSchemaStatements(schemas: string[]): string {
  return schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${ident(s)};\n`).join('');
}

const TASKS_MARK = 'bindu-db-tasks:';

/**
 * A statement that prints the tasks the schemas hold, for psql to run just before COMMIT: rows the
 * transaction itself wrote are counted without the hint-bit writes a first read after COMMIT
 * makes (~50 ms for 100,000 tasks). Undefined when there is nothing to count.
 */
export function countTasksStatement(schemas: string[]): string | undefined {
  if (schemas.length === 0) return undefined;
  const sum = schemas.map((s) => `(select count(*) from ${ident(s)}.tasks)`).join(' + ');
  return `select '${TASKS_MARK}' || (${sum})`;
}

/** The count countTasksStatement printed, from psql's output (the dump's own SELECTs print too). */
export function parseTasksCount(output: string): number | undefined {
  const m = [...output.matchAll(new RegExp(`^${TASKS_MARK}(\\d+)$`, 'gm'))].at(-1);
  return m ? Number(m[1]) : undefined;
}

/** A table a data-only dump holds rows for, and what the target has of it now. */
export interface DataTable {
  schema: string;
  name: string;
  /** The table exists in the target. */
  exists: boolean;
  /** It holds at least one row now. */
  filled: boolean;
}

/** The migration logs: bindu-db's, and the Alembic revision of Bindu's server layout. */
export const MIGRATION_LOGS: readonly string[] = [MIGRATION_TABLE, 'alembic_version'];

/**
 * Whether each table exists and holds rows, for a data-only restore: one query for existence,
 * then one `exists (select 1 …)` per table found (no count: a big table would be scanned).
 */
export async function dataTables(sql: SqlRunner, tables: { schema: string; name: string }[]): Promise<DataTable[]> {
  const rows = await sql.query<{ i: number; found: boolean }>(
    `select t.i::int as i, exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
                                     where n.nspname = t.schema and c.relname = t.name and c.relkind in ('r', 'p')) as found
       from unnest(?::text[], ?::text[]) with ordinality as t(schema, name, i) order by t.i`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const out: DataTable[] = [];
  for (const [k, t] of tables.entries()) {
    const exists = rows[k]?.found === true;
    const filled = exists && (await sql.query<{ f: boolean }>(`select exists (select 1 from ${q(t.schema, t.name)}) as f`))[0].f;
    out.push({ ...t, exists, filled });
  }
  return out;
}

/**
 * restore --clean of a data-only dump: its tables are emptied, never dropped, in the restore's
 * transaction. CASCADE because the tables reference each other (tasks → contexts…); it also
 * empties any other table whose foreign keys point at them, as their rows could not stay.
 */
export function truncateStatement(tables: { schema: string; name: string }[]): string {
  return tables.length ? `TRUNCATE TABLE ${tables.map((t) => q(t.schema, t.name)).join(', ')} CASCADE;\n` : '';
}

