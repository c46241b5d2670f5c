import { ident } from '../../lib/sqlIdent.js';
import type { SqlRunner } from '../sqlRunner.js';
import type { Timestamp } from '../timestamps.js';

/**
 * The table layouts bindu-db understands. `bindu-db`: the seed page's schema, made by our
 * migrations. `bindu-server`: what Bindu's Python server (SQLAlchemy + Alembic) writes, one
 * schema per agent, with columns id/state/context_data/message_history/feedback_data.
 */
export type LayoutName = 'bindu-db' | 'bindu-server';

/** What detection found in one schema. */
export interface DetectedLayout {
  layout: LayoutName;
  /** Server layout: whether tasks carry owner_did (schemas made before April 2026 do not). Always false for ours. */
  ownerDid: boolean;
}

export interface SchemaInfo {
  schema: string;
  layout: LayoutName;
  /** Null where this role may not read the schema's tables. */
  tasks: number | null;
  /** Whether this role may read the schema's tables (USAGE on it, SELECT on them). */
  readable: boolean;
  /** Newest task or context update; null when the schema holds no rows. */
  last_activity: Timestamp | null;
  /** Server layout only: whether tasks carry owner_did (schemas made after April 2026). */
  owner_did?: boolean;
}

interface TaskColumnsRow {
  schema: string;
  columns: string[];
  readable: boolean;
}

/**
 * Every schema with a `tasks` table, `contexts` and `task_feedback` (or only `schema`), and the tasks table's columns: one catalog
 * query, on pg_catalog rather than information_schema (its views cost several times more).
 * Runs on the SqlRunner, so the inspection path detects without loading knex.
 */
async function tasksTables(sql: SqlRunner, schema?: string): Promise<TaskColumnsRow[]> {
  return sql.query<TaskColumnsRow>(
    `select n.nspname::text as schema, array_agg(a.attname::text order by a.attname) as columns,
            pg_catalog.has_schema_privilege(n.oid, 'USAGE')
              and (select bool_and(pg_catalog.has_table_privilege(o.oid, 'SELECT')) from pg_catalog.pg_class o
                    where o.relnamespace = n.oid and o.relname in ('tasks', 'contexts', 'task_feedback') and o.relkind in ('r', 'p')) as readable
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where c.relname = 'tasks' and c.relkind in ('r', 'p')
        and (?::text is null or n.nspname = ?::text)
        -- Beside its contexts and feedback (webhook_configs came later): a copy of an agent's
        -- tasks made aside (create table … as select) is no agent, and no read of one could answer.
        and (select count(*) from pg_catalog.pg_class o
              where o.relnamespace = n.oid and o.relname in ('contexts', 'task_feedback') and o.relkind in ('r', 'p')) = 2
        and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      group by n.oid, n.nspname
      order by n.nspname`,
    [schema ?? null, schema ?? null],
  );
}

// Columns every read of a layout's tasks relies on. `tasks` is a common name (job queues of
// other applications): a table with only `id` and `state` is not an agent's, and taking it for
// one failed every fleet read (schemas list, stats --all-schemas) and let repair alter it.
const COMMON_TASK_COLUMNS = ['context_id', 'history', 'created_at', 'updated_at'];

/** The layout a `tasks` table's columns show (the one rule detection and restore's planning apply). */
export function layoutOf(columns: string[]): DetectedLayout | undefined {
  if (!COMMON_TASK_COLUMNS.every((c) => columns.includes(c))) return undefined;
  if (columns.includes('task_id') && columns.includes('status')) return { layout: 'bindu-db', ownerDid: false };
  if (columns.includes('id') && columns.includes('state')) return { layout: 'bindu-server', ownerDid: columns.includes('owner_did') };
  return undefined;
}

/** The layout of one schema, or undefined when it holds no recognised tables. */
export async function detectLayout(sql: SqlRunner, schema: string): Promise<DetectedLayout | undefined> {
  const [row] = await tasksTables(sql, schema);
  return row && layoutOf(row.columns);
}

/** Every schema holding a recognised layout, what was detected there and whether this role may read it (one catalog query), by name. */
export async function detectLayouts(sql: SqlRunner): Promise<Array<DetectedLayout & { schema: string; readable: boolean }>> {
  return (await tasksTables(sql)).flatMap((row) => {
    const detected = layoutOf(row.columns);
    return detected ? [{ schema: row.schema, ...detected, readable: row.readable }] : [];
  });
}

/** The role this session acts as, for messages about what it may not read. */
export async function currentRole(sql: SqlRunner): Promise<string> {
  const [row] = await sql.query<{ role: string }>('select current_user::text as role');
  return row.role;
}

/** Every schema holding a recognised layout, with its task count and last activity. */
export async function listSchemas(sql: SqlRunner): Promise<SchemaInfo[]> {
  const found = await detectLayouts(sql);
  const counts = new Map<string, { tasks: string; last_activity: Timestamp | null }>();
  const readable = found.filter((s) => s.readable);
  // Exact counts (operators compare them), all schemas in one round trip per 200: one query per
  // schema made a fleet of agents slow. Schema names come from the catalog and are quoted.
  for (let i = 0; i < readable.length; i += 200) {
    const part = readable.slice(i, i + 200);
    const arms = part.map((s) => {
      const q = ident(s.schema);
      return `select ?::text as schema, (select count(*) from ${q}.tasks)::bigint as tasks,
              greatest((select max(updated_at) from ${q}.tasks), (select max(updated_at) from ${q}.contexts)) as last_activity`;
    });
    const rows = await sql.query<{ schema: string; tasks: string; last_activity: Timestamp | null }>(arms.join('\nunion all\n'), part.map((s) => s.schema));
    for (const row of rows) counts.set(row.schema, row);
  }
  return found.map((s) => {
    const row = counts.get(s.schema);
    return {
      schema: s.schema,
      layout: s.layout,
      tasks: row ? Number(row.tasks) : null,
      readable: s.readable,
      last_activity: row?.last_activity ?? null,
      ...(s.layout === 'bindu-server' ? { owner_did: s.ownerDid } : {}),
    };
  });
}

/** The Alembic revision recorded in `public.alembic_version`, when Bindu's server manages the database. */
export async function alembicVersion(sql: SqlRunner): Promise<string | null | undefined> {
  const [row] = await sql.query<{ present: boolean }>(`select to_regclass('public.alembic_version') is not null as present`);
  if (!row.present) return undefined;
  const [version] = await sql.query<{ version_num: string }>('select version_num from public.alembic_version limit 1');
  return version?.version_num ?? null;
}
