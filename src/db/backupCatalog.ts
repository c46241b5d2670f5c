import { ident } from '../lib/sqlIdent.js';
import type { SqlRunner } from './sqlRunner.js';

// What a backup reads from the catalog: which schemas it holds, each table's row count (the
// manifest `backup verify` checks against), and for the embedded database's in-process dump, the
// tables and sequences whose contents it writes itself. On a bare pg client or PGlite.

/** Every schema that is not the system's: a whole-database backup holds all of them. */
export async function userSchemas(sql: SqlRunner): Promise<string[]> {
  const rows = await sql.query<{ s: string }>(
    `select nspname::text as s from pg_catalog.pg_namespace
      where nspname not in ('pg_catalog', 'information_schema') and nspname not like 'pg\\_%' order by nspname`,
  );
  return rows.map((r) => r.s);
}

/** Which of these schemas exist (a backup of one that does not is an error naming it). */
export async function existingSchemas(sql: SqlRunner, schemas: string[]): Promise<string[]> {
  const rows = await sql.query<{ s: string }>('select nspname::text as s from pg_catalog.pg_namespace where nspname = any(?::text[])', [schemas]);
  return rows.map((r) => r.s);
}

/** What the connected role may not read in a schema a dump holds: the schema itself, or one of its tables or sequences. */
export interface Unreadable {
  schema: string;
  /** The table or sequence, or null for the schema (no USAGE). */
  relation: string | null;
  kind: 'schema' | 'table' | 'sequence';
}

/**
 * Of these schemas, what the connected role cannot dump: a schema without USAGE, a table or
 * sequence without SELECT (pg_dump locks every table and reads every sequence it writes).
 */
export async function unreadableIn(sql: SqlRunner, schemas: string[]): Promise<Unreadable[]> {
  return sql.query<Unreadable>(
    `select n.nspname::text as schema, null::text as relation, 'schema' as kind from pg_catalog.pg_namespace n
      where n.nspname = any(?::text[]) and not pg_catalog.has_schema_privilege(n.oid, 'USAGE')
     union all
     select n.nspname::text, c.relname::text, case c.relkind when 'S' then 'sequence' else 'table' end from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = any(?::text[]) and c.relkind in ('r', 'p', 'S')
        and pg_catalog.has_schema_privilege(n.oid, 'USAGE') and not pg_catalog.has_table_privilege(c.oid, 'SELECT')
     order by 1, 2 nulls first`,
    [schemas, schemas],
  );
}

/** A table whose rows a dump holds: its columns in order (generated ones left out, as pg_dump does) and its size in pages. */
export interface DumpedTable {
  schema: string;
  name: string;
  columns: string[];
  pages: number;
}

/**
 * The ordinary tables of these schemas that are not an extension's, in the order their rows can
 * load into tables that already have their foreign keys (a data-only restore): a table after the
 * tables it references, as pg_dump orders a data-only dump; otherwise by schema and name.
 */
export async function dumpedTables(sql: SqlRunner, schemas: string[]): Promise<DumpedTable[]> {
  const rows = await sql.query<{ oid: number; schema: string; name: string; columns: string[]; pages: string; refs: number[] }>(
    `select c.oid::int as oid, n.nspname::text as schema, c.relname::text as name,
            coalesce((select array_agg(a.attname::text order by a.attnum) from pg_catalog.pg_attribute a
                       where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''), '{}') as columns,
            (pg_catalog.pg_relation_size(c.oid) / current_setting('block_size')::int)::text as pages,
            coalesce((select array_agg(distinct f.confrelid::int) from pg_catalog.pg_constraint f
                       where f.conrelid = c.oid and f.contype = 'f' and f.confrelid <> c.oid), '{}') as refs
       from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'r' and n.nspname = any(?::text[])
        and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by n.nspname, c.relname`,
    [schemas],
  );
  const ordered: typeof rows = [];
  const placed = new Set<number>();
  const visit = (r: (typeof rows)[number], path: Set<number>) => {
    if (placed.has(r.oid) || path.has(r.oid)) return; // a cycle: left in name order
    path.add(r.oid);
    for (const ref of r.refs) {
      const target = rows.find((x) => x.oid === ref);
      if (target) visit(target, path);
    }
    placed.add(r.oid);
    ordered.push(r);
  };
  for (const r of rows) visit(r, new Set());
  return ordered.map(({ schema, name, columns, pages }) => ({ schema, name, columns, pages: Number(pages) }));
}

/** Rows in each table, keyed "schema.table" (exact counts: the manifest is checked to the row). */
export async function rowCounts(sql: SqlRunner, tables: { schema: string; name: string }[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const [row] = await sql.query<{ n: string }>(`select count(*)::text as n from ${ident(t.schema)}.${ident(t.name)}`);
    counts[`${t.schema}.${t.name}`] = Number(row.n);
  }
  return counts;
}

/**
 * Starts a read-only snapshot on this connection and exports it, so pg_dump (--snapshot) reads
 * exactly what the row counts were taken from. The transaction stays open until the caller ends it.
 */
export async function exportSnapshot(sql: SqlRunner): Promise<string> {
  await sql.query('begin isolation level repeatable read read only');
  const [row] = await sql.query<{ s: string }>('select pg_catalog.pg_export_snapshot() as s');
  return row.s;
}

/** One table's rows from page `from` up to (not including) page `to`, for COPY … TO (the in-process dump's batches). */
export function copyPagesStatement(t: DumpedTable, from: number, to: number, target: string): string {
  const cols = t.columns.map(ident).join(', ');
  return `copy (select ${cols} from ${ident(t.schema)}.${ident(t.name)} where ctid >= '(${from},0)'::tid and ctid < '(${to},0)'::tid) to ${target}`;
}

/** The current value of each sequence of these schemas that is not an extension's (pg_dump's SEQUENCE SET entries). */
export async function sequenceValues(sql: SqlRunner, schemas: string[]): Promise<{ schema: string; name: string; value: string | null; called: boolean }[]> {
  const seqs = await sql.query<{ schema: string; name: string }>(
    `select n.nspname::text as schema, c.relname::text as name from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where c.relkind = 'S' and n.nspname = any(?::text[])
        and not exists (select 1 from pg_catalog.pg_depend d where d.classid = 'pg_catalog.pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
      order by n.nspname, c.relname`,
    [schemas],
  );
  const out = [];
  for (const s of seqs) {
    const [row] = await sql.query<{ v: string; c: boolean }>(`select last_value::text as v, is_called as c from ${ident(s.schema)}.${ident(s.name)}`);
    out.push({ ...s, value: row.v, called: row.c });
  }
  return out;
}

/** Rows now in each table named (null: no such table), by its key: what `backup verify` compares with the manifest. */
export async function rowCountsOf(sql: SqlRunner, tables: { key: string; schema: string; name: string }[]): Promise<Record<string, number | null>> {
  const out: Record<string, number | null> = {};
  for (const t of tables) {
    const [found] = await sql.query<{ r: boolean }>('select to_regclass(?) is not null as r', [`${ident(t.schema)}.${ident(t.name)}`]);
    out[t.key] = found.r ? (await rowCounts(sql, [t]))[`${t.schema}.${t.name}`] : null;
  }
  return out;
}

/** A scratch database for `backup verify`; false when this role may not create one. */
export async function createScratchDatabase(sql: SqlRunner, name: string): Promise<boolean> {
  try {
    await sql.query(`create database ${ident(name)}`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '42501') return false; // permission denied
    throw err;
  }
}

export async function dropScratchDatabase(sql: SqlRunner, name: string): Promise<void> {
  await sql.query(`drop database if exists ${ident(name)} with (force)`);
}
