import type { Knex } from 'knex';
import { MIGRATION_TABLE } from './migrationLog.js';

/**
 * The table layouts bindu-db understands. `bindu-db`: the seed page's schema, made by our
 * migrations. `bindu-server`: what Bindu's Python server (SQLAlchemy + Alembic) writes, one
 * schema per agent, with columns id/state/context_data/message_history/feedback_data.
 */
export type LayoutName = 'bindu-db' | 'bindu-server';

export interface SchemaInfo {
  schema: string;
  layout: LayoutName;
  tasks: number;
  /** Newest task or context update; null when the schema holds no rows. */
  last_activity: Date | null;
  /** Server layout only: whether tasks carry owner_did (schemas made after April 2026). */
  owner_did?: boolean;
}

interface TaskColumnsRow {
  schema: string;
  columns: string[];
}

/** Every schema with a `tasks` table, and that table's columns. */
async function tasksTables(db: Knex, schema?: string): Promise<TaskColumnsRow[]> {
  const { rows } = await db.raw(
    `select table_schema as schema, array_agg(column_name::text order by column_name) as columns
       from information_schema.columns
      where table_name = 'tasks' and (?::text is null or table_schema = ?)
        and table_schema not in ('pg_catalog', 'information_schema')
      group by table_schema
      order by table_schema`,
    [schema ?? null, schema ?? null],
  );
  return rows;
}

/** The layout a `tasks` table's columns show (the rule detectLayout applies). */
export function layoutOf(columns: string[]): LayoutName | undefined {
  if (columns.includes('task_id') && columns.includes('status')) return 'bindu-db';
  if (columns.includes('id') && columns.includes('state')) return 'bindu-server';
  return undefined;
}

/** The layout of one schema, or undefined when it holds no recognised tables. */
export async function detectLayout(db: Knex, schema: string): Promise<{ layout: LayoutName; ownerDid: boolean } | undefined> {
  const [row] = await tasksTables(db, schema);
  const layout = row && layoutOf(row.columns);
  return layout && { layout, ownerDid: row.columns.includes('owner_did') };
}

/** Every schema holding a recognised layout, with its task count and last activity. */
export async function listSchemas(db: Knex): Promise<SchemaInfo[]> {
  const found = (await tasksTables(db)).flatMap((row) => {
    const layout = layoutOf(row.columns);
    return layout ? [{ schema: row.schema, layout, ownerDid: row.columns.includes('owner_did') }] : [];
  });
  const result: SchemaInfo[] = [];
  for (const s of found) {
    // Exact counts: these run per agent schema, and operators compare them.
    const { rows } = await db.raw(
      `select (select count(*) from ??.tasks)::bigint as tasks,
              greatest((select max(updated_at) from ??.tasks), (select max(updated_at) from ??.contexts)) as last_activity`,
      [s.schema, s.schema, s.schema],
    );
    result.push({
      schema: s.schema,
      layout: s.layout,
      tasks: Number(rows[0].tasks),
      last_activity: rows[0].last_activity,
      ...(s.layout === 'bindu-server' ? { owner_did: s.ownerDid } : {}),
    });
  }
  return result;
}

/** The Alembic revision recorded in `public.alembic_version`, when Bindu's server manages the database. */
export async function alembicVersion(db: Knex): Promise<string | null | undefined> {
  const { rows } = await db.raw(`select to_regclass('public.alembic_version') is not null as present`);
  if (!rows[0].present) return undefined;
  const version = await db.raw('select version_num from public.alembic_version limit 1');
  return version.rows[0]?.version_num ?? null;
}

/** Whether our migrations have run in the schema (its migration table exists). */
export async function hasMigrationTable(db: Knex, schema: string): Promise<boolean> {
  const { rows } = await db.raw('select to_regclass(?) is not null as present', [`"${schema}".${MIGRATION_TABLE}`]);
  return rows[0].present === true;
}
