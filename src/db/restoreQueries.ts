import type { DumpEntry } from '../lib/dumpContents.js';
import { BINDU_TABLES } from './catalog.js';
import { type LayoutName, layoutOf } from './layouts/detect.js';
import { MIGRATION_TABLE } from './migrationLog.js';
import type { SqlRunner } from './sqlRunner.js';
import { ident } from '../lib/sqlIdent.js';

// Restore's planning queries: what the schemas a dump brings hold now, what outside the dump
// depends on what --clean would replace, and the statements that clear the way for the dump
// inside the restore's own transaction. Only the dump's schemas are touched, and a schema itself
// is never dropped (public belongs to the database, and may hold other things).

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

/** What restore --clean drops, as quoted names; tables with CASCADE (indexes, constraints, triggers, owned sequences go with them). */
export interface CleanSet {
  tables: { schema: string; name: string }[];
  views: { schema: string; name: string; materialized: boolean }[];
  /** "DROP <kind> IF EXISTS <target>" for everything else: sequences, routines, types. */
  other: { kind: string; target: string }[];
  /** Types dropped ("schema"."name"), whose use elsewhere would be dropped with them. */
  types: { schema: string; name: string }[];
}

/**
 * Everything the dump creates in its schemas, plus the Bindu tables they hold now (and, in a
 * schema of our layout, our migration log, enum and trigger function, which a dump of the
 * server's layout would otherwise leave behind).
 */
export function cleanSet(entries: DumpEntry[], holdings: SchemaHolding[]): CleanSet {
  const set: CleanSet = { tables: [], views: [], other: [], types: [] };
  const addTable = (schema: string, name: string) => {
    if (!set.tables.some((t) => t.schema === schema && t.name === name)) set.tables.push({ schema, name });
  };
  const add = (kind: string, target: string) => {
    if (!set.other.some((o) => o.kind === kind && o.target === target)) set.other.push({ kind, target });
  };
  const addType = (kind: string, schema: string, name: string) => {
    add(kind, q(schema, name));
    if (!set.types.some((t) => t.schema === schema && t.name === name)) set.types.push({ schema, name });
  };
  for (const h of holdings) {
    for (const t of h.tables) addTable(h.schema, t);
    if (h.layout === 'bindu-db') {
      addTable(h.schema, MIGRATION_TABLE);
      add('FUNCTION', routine(h.schema, 'set_updated_at()'));
      addType('TYPE', h.schema, 'task_status');
    }
  }
  const schemas = new Set(holdings.map((h) => h.schema));
  for (const e of entries) {
    if (!e.schema || !schemas.has(e.schema)) continue;
    switch (e.type) {
      case 'TABLE':
      case 'FOREIGN TABLE':
        addTable(e.schema, e.name);
        break;
      case 'VIEW':
      case 'MATERIALIZED VIEW':
        if (!set.views.some((v) => v.schema === e.schema && v.name === e.name)) set.views.push({ schema: e.schema, name: e.name, materialized: e.type !== 'VIEW' });
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
        addType(e.type, e.schema, e.name);
        break;
    }
  }
  return set;
}

/** DROP … IF EXISTS … CASCADE for a clean set: views first (they depend on tables), then tables, then what tables depended on. */
export function cleanStatements(set: CleanSet): string {
  const views = set.views.map((v) => `DROP ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} IF EXISTS ${q(v.schema, v.name)} CASCADE;`);
  const tables = set.tables.length ? [`DROP TABLE IF EXISTS ${set.tables.map((t) => q(t.schema, t.name)).join(', ')} CASCADE;`] : [];
  const rest = set.other.map((o) => `DROP ${o.kind} IF EXISTS ${o.target} CASCADE;`);
  return [...views, ...tables, ...rest].map((s) => `${s}\n`).join('');
}

/** An object outside what restore replaces that depends on what it would drop or empty. */
export interface Dependent {
  /** e.g. `view public.open_tasks`, `foreign key reports_task_fkey on public.reports`. */
  what: string;
}

/**
 * What depends on these relations (and types) from outside them: views reading them, foreign keys
 * pointing at them from other tables, columns of other tables of these types. CASCADE would drop
 * (or, for TRUNCATE, empty) each one, so restore --clean refuses while there are any.
 */
export async function dependentsOutside(sql: SqlRunner, relations: { schema: string; name: string }[], types: { schema: string; name: string }[] = []): Promise<Dependent[]> {
  const rows = await sql.query<{ what: string }>(
    `with rel as (select c.oid from unnest(?::text[], ?::text[]) as t(s, n)
                    join pg_catalog.pg_namespace ns on ns.nspname = t.s join pg_catalog.pg_class c on c.relnamespace = ns.oid and c.relname = t.n),
          typ as (select ty.oid from unnest(?::text[], ?::text[]) as t(s, n)
                    join pg_catalog.pg_namespace ns on ns.nspname = t.s join pg_catalog.pg_type ty on ty.typnamespace = ns.oid and ty.typname = t.n)
     select distinct format('%s %I.%I', case v.relkind when 'm' then 'materialized view' else 'view' end, vn.nspname, v.relname) as what
       from pg_catalog.pg_depend d join pg_catalog.pg_rewrite r on r.oid = d.objid join pg_catalog.pg_class v on v.oid = r.ev_class
       join pg_catalog.pg_namespace vn on vn.oid = v.relnamespace
      where d.classid = 'pg_catalog.pg_rewrite'::regclass and d.refobjid in (select oid from rel union all select oid from typ) and v.oid not in (select oid from rel)
     union
     select format('foreign key %I on %I.%I', con.conname, cn.nspname, c.relname)
       from pg_catalog.pg_constraint con join pg_catalog.pg_class c on c.oid = con.conrelid join pg_catalog.pg_namespace cn on cn.oid = c.relnamespace
      where con.contype = 'f' and con.confrelid in (select oid from rel) and con.conrelid not in (select oid from rel)
     union
     select format('column %I of %I.%I', a.attname, cn.nspname, c.relname)
       from pg_catalog.pg_attribute a join pg_catalog.pg_class c on c.oid = a.attrelid join pg_catalog.pg_namespace cn on cn.oid = c.relnamespace
      where a.atttypid in (select oid from typ) and not a.attisdropped and c.relkind in ('r', 'p', 'f') and c.oid not in (select oid from rel)
     order by 1`,
    [relations.map((r) => r.schema), relations.map((r) => r.name), types.map((t) => t.schema), types.map((t) => t.name)],
  );
  return rows;
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
 * transaction. No CASCADE: a table outside the dump whose foreign keys point at them makes the
 * server refuse rather than empty it too (restore has refused such a target already).
 */
export function truncateStatement(tables: { schema: string; name: string }[]): string {
  return tables.length ? `TRUNCATE TABLE ${tables.map((t) => q(t.schema, t.name)).join(', ')};\n` : '';
}
