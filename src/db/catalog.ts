import type { Knex } from 'knex';

// Catalog questions backup and restore ask. Identifiers and values go in as bindings.

/** The tables that make a schema a Bindu store. */
export const BINDU_TABLES = ['contexts', 'tasks', 'task_feedback', 'webhook_configs'] as const;

/** server_version_num, e.g. 150018. */
export async function serverVersionNum(db: Knex): Promise<number> {
  const { rows } = await db.raw<{ rows: { v: string }[] }>("select current_setting('server_version_num') as v");
  return Number(rows[0].v);
}

/** The Bindu tables present in a schema. */
export async function binduTablesIn(db: Knex, schema: string): Promise<string[]> {
  const { rows } = await db.raw<{ rows: { name: string }[] }>(
    `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and c.relkind in ('r', 'p') and c.relname in (${BINDU_TABLES.map(() => '?').join(', ')}) order by c.relname`,
    [schema, ...BINDU_TABLES],
  );
  return rows.map((r) => r.name);
}

/** Rows in schema.tasks, or null when there is no such table. */
export async function countTasks(db: Knex, schema: string): Promise<number | null> {
  if (!(await binduTablesIn(db, schema)).includes('tasks')) return null;
  const { rows } = await db.raw<{ rows: { n: string }[] }>('select count(*) as n from ??.tasks', [schema]);
  return Number(rows[0].n);
}

/** The database name (for confirmations). */
export async function currentDatabase(db: Knex): Promise<string> {
  const { rows } = await db.raw<{ rows: { name: string }[] }>('select current_database() as name');
  return rows[0].name;
}
