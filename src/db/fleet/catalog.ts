import type { SqlRunner } from '../sqlRunner.js';
import { ident } from '../../lib/sqlIdent.js';

// What one schema's Bindu tables really look like, read from pg_catalog with the schema bound
// as a value: plain read-only statements, no session state, so they run through a transaction
// pooler as well as on a direct connection.

export interface ColumnShape {
  table: string;
  name: string;
  /** format_type() for built-in types; the bare type name for a type of the schema (our enum). */
  type: string;
  not_null: boolean;
  /** pg_get_expr() of the default, schema qualifiers of this schema removed; null when none. */
  default: string | null;
}

export interface ConstraintShape {
  table: string;
  name: string;
  type: 'p' | 'f';
  columns: string[];
  ref_table: string | null;
  ref_columns: string[] | null;
  /** pg_constraint.confdeltype: c cascade, a no action, r restrict, n set null, d set default. */
  on_delete: string | null;
}

export interface IndexShape {
  table: string;
  name: string;
  method: string;
  /** Key columns (or expressions), without ordering. */
  columns: string[];
  /** False for an index left behind by an interrupted CREATE INDEX CONCURRENTLY, or one being built. */
  valid: boolean;
  partial: boolean;
  /**
   * The backend building it right now (pg_stat_progress_create_index), or null. A build whose
   * client went away (Ctrl-C) goes on on the server until it ends: it is not to be dropped.
   */
  building_pid: number | null;
}

export interface TriggerShape {
  table: string;
  name: string;
  function: string;
  /** BEFORE UPDATE FOR EACH ROW, and not disabled. */
  before_update_row: boolean;
}

export interface SchemaShape {
  schema: string;
  tables: string[];
  columns: ColumnShape[];
  constraints: ConstraintShape[];
  indexes: IndexShape[];
  triggers: TriggerShape[];
  /** Functions of the schema itself (the updated_at trigger function lives beside its tables). */
  functions: string[];
  /** Estimated rows per table (pg_class.reltuples; -1 or 0 when never analysed). */
  rows: Record<string, number>;
}

const TABLES = `c.relkind in ('r', 'p') and c.relname in ('contexts', 'tasks', 'task_feedback', 'webhook_configs')`;

/** The shape of the Bindu tables of one schema. */
export async function readSchemaShape(sql: SqlRunner, schema: string): Promise<SchemaShape> {
  const tables = await sql.query<{ table: string; rows: number }>(
    `select c.relname::text as table, c.reltuples::float8 as rows
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and ${TABLES}`,
    [schema],
  );
  const columns = await sql.query<ColumnShape>(
    `select c.relname::text as table, a.attname::text as name,
            case when t.typnamespace = 'pg_catalog'::regnamespace then format_type(a.atttypid, a.atttypmod) else t.typname::text end as type,
            a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
       join pg_catalog.pg_type t on t.oid = a.atttypid
       left join pg_catalog.pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
      where n.nspname = ? and ${TABLES}
      order by c.relname, a.attnum`,
    [schema],
  );
  const constraints = await sql.query<ConstraintShape>(
    `select c.relname::text as table, con.conname::text as name, con.contype::text as type,
            array(select a.attname::text from unnest(con.conkey) with ordinality k(num, ord)
                    join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.num order by k.ord) as columns,
            fc.relname::text as ref_table,
            case when con.contype = 'f' then array(select a.attname::text from unnest(con.confkey) with ordinality k(num, ord)
                    join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.num order by k.ord) end as ref_columns,
            case when con.contype = 'f' then con.confdeltype::text end as on_delete
       from pg_catalog.pg_constraint con
       join pg_catalog.pg_class c on c.oid = con.conrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       left join pg_catalog.pg_class fc on fc.oid = con.confrelid
      where n.nspname = ? and con.contype in ('p', 'f') and ${TABLES}`,
    [schema],
  );
  const indexes = await sql.query<IndexShape>(
    `select c.relname::text as table, i.relname::text as name, am.amname::text as method,
            array(select pg_get_indexdef(x.indexrelid, k, true) from generate_series(1, x.indnkeyatts) k order by k) as columns,
            x.indisvalid as valid, x.indpred is not null as partial,
            (select p.pid from pg_catalog.pg_stat_progress_create_index p where p.index_relid = x.indexrelid limit 1) as building_pid
       from pg_catalog.pg_index x
       join pg_catalog.pg_class c on c.oid = x.indrelid
       join pg_catalog.pg_class i on i.oid = x.indexrelid
       join pg_catalog.pg_am am on am.oid = i.relam
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and ${TABLES}`,
    [schema],
  );
  // tgtype bits: 1 row, 2 before, 16 update; tgenabled 'D' is disabled.
  const triggers = await sql.query<TriggerShape>(
    `select c.relname::text as table, tg.tgname::text as name, p.proname::text as function,
            (tg.tgtype & 19) = 19 and tg.tgenabled <> 'D' as before_update_row
       from pg_catalog.pg_trigger tg
       join pg_catalog.pg_class c on c.oid = tg.tgrelid
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_proc p on p.oid = tg.tgfoid
      where n.nspname = ? and not tg.tgisinternal and ${TABLES}`,
    [schema],
  );
  const functions = await sql.query<{ name: string }>(
    `select p.proname::text as name from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
      where n.nspname = ? and p.pronargs = 0 and p.prorettype = 'trigger'::regtype`,
    [schema],
  );
  const unqualify = [`${ident(schema)}.`, `${schema}.`];
  return {
    schema,
    tables: tables.map((t) => t.table),
    rows: Object.fromEntries(tables.map((t) => [t.table, Number(t.rows)])),
    columns: columns.map((c) => ({ ...c, default: c.default === null ? null : unqualify.reduce((d, q) => d.split(q).join(''), c.default) })),
    constraints,
    indexes,
    triggers,
    functions: functions.map((f) => f.name),
  };
}
