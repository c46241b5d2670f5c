import { UsageError } from '../../errors.js';
import type { ContextRow, ContextSummaryRow, Page } from '../types.js';
import { keysetAfter, toPage } from './keyset.js';
import { utcTimestampSql } from '../timestamps.js';
import { ident } from '../../lib/sqlIdent.js';
import { col, extraColumns } from '../layouts/layout.js';
import { type Source, type Statement, Where, num, rowsOf, table, typedColumns, unionAcross } from './source.js';
import type { AcrossRow, PageOptions } from './tasks.js';

export interface ContextFilter {
  since?: Date;
  until?: Date;
  /** Server layout with owner_did only. */
  ownerDid?: string;
}

/** A page of contexts, newest first; task counts and last activity are computed for the page only. */
export function contextPageStatement(source: Source, filter: ContextFilter, page: PageOptions): Statement {
  const C = source.layout.contexts;
  const T = source.layout.tasks;
  const w = new Where();
  if (filter.since) w.add(`${col('c', C.createdAt)} >= ?`, filter.since);
  if (filter.until) w.add(`${col('c', C.createdAt)} < ?`, filter.until);
  if (filter.ownerDid !== undefined) {
    if (!C.ownerDid) throw new UsageError(`--owner: the ${source.layout.name} contexts table of this schema has no owner_did column`);
    w.add(`${col('c', C.ownerDid)} = ?`, filter.ownerDid);
  }
  if (page.after) keysetAfter(w, col('c', C.createdAt), col('c', C.id), 'uuid', page.after, 'contexts', page.acrossSchemas ? source.schema : undefined);
  const extras = C.extras.map(([name]) => `, page.${ident(name)}`).join('');
  const fromTasks = C.conversation === 'tasks.history';
  const sql = `select page.context_id, page.metadata, page.created_at, page.updated_at${extras},
      ${utcTimestampSql('page.created_at')} as cursor_ts,
      ${fromTasks ? 'tc.history_count' : arrayLength('page.messages')} as message_count,${fromTasks ? ` 'tasks.history' as messages_from,` : ''}
      tc.task_count, greatest(page.updated_at, tc.last_task_at) as last_activity_at
    from (select ${col('c', C.id)} as context_id, ${col('c', C.messages)} as messages, ${col('c', C.metadata)} as metadata,
                 ${col('c', C.createdAt)} as created_at, ${col('c', C.updatedAt)} as updated_at${extraColumns('c', C.extras)}
            from ${table(source, C.table)} c ${w}
           order by ${col('c', C.createdAt)} desc, ${col('c', C.id)} desc limit ?) page
    left join lateral (select count(*) as task_count, max(${col('t', T.updatedAt)}) as last_task_at,
                              coalesce(sum(${arrayLength(col('t', T.history))}), 0) as history_count
                         from ${table(source, T.table)} t where ${col('t', T.contextId)} = page.context_id) tc on true
   order by page.created_at desc, page.context_id desc`;
  return { sql, bindings: [...w.bindings, page.limit + 1] };
}

type ContextPageRow = Omit<ContextSummaryRow, 'message_count' | 'task_count'> & { message_count: unknown; task_count: unknown; cursor_ts: string };

export async function listContexts(source: Source, filter: ContextFilter, page: PageOptions): Promise<Page<ContextSummaryRow>> {
  const rows = await rowsOf<ContextPageRow>(source, contextPageStatement(source, filter, page));
  return toPage(rows, page, 'contexts', (r) => ({ id: r.context_id }), ({ cursor_ts: _, ...r }) => ({
    ...r,
    message_count: num(r.message_count),
    task_count: num(r.task_count),
  }));
}

/** A page of contexts across `sources` (in the order of their names), each item with its schema. */
export async function listContextsAcross(sources: readonly Source[], filter: ContextFilter, page: PageOptions): Promise<Page<AcrossRow<ContextSummaryRow>>> {
  if (sources.length === 0) return { items: [], next: null };
  const branches = sources.map((source, rank) => ({
    rank,
    statement: contextPageStatement(source, filter, { ...page, acrossSchemas: true }),
    select: `x.context_id, x.metadata, x.created_at, x.updated_at, x.cursor_ts, x.message_count, x.task_count, x.last_activity_at${typedColumns(['owner_did'], {}, source.layout.contexts.extras.map(([n]) => n))}`,
  }));
  const rows = await rowsOf<ContextPageRow & { schema_rank: number }>(sources[0], unionAcross(branches, 'created_at desc, schema_rank desc, context_id desc', page.limit + 1));
  return toPage(rows, page, 'contexts', (r) => ({ id: r.context_id, schema: sources[r.schema_rank].schema }), ({ cursor_ts: _, schema_rank, ...r }) => ({
    schema: sources[schema_rank].schema,
    ...r,
    message_count: num(r.message_count),
    task_count: num(r.task_count),
  }));
}

/** The length of a JSON array column, 0 for anything else. */
const arrayLength = (expr: string) => `case when jsonb_typeof(${expr}) = 'array' then jsonb_array_length(${expr}) else 0 end`;

/** SQL: every message of the context's tasks' history, oldest task first, as one JSON array. */
function tasksHistorySql(source: Source, contextId: string): string {
  const T = source.layout.tasks;
  const h = col('t', T.history);
  return `(select coalesce(jsonb_agg(m.value order by ${col('t', T.createdAt)}, ${col('t', T.id)}, m.n), '[]'::jsonb)
             from ${table(source, T.table)} t
             cross join lateral jsonb_array_elements(case when jsonb_typeof(${h}) = 'array' then ${h} else '[]'::jsonb end) with ordinality m(value, n)
            where ${col('t', T.contextId)} = ${contextId})`;
}

export async function getContext(source: Source, contextId: string): Promise<ContextRow | undefined> {
  const C = source.layout.contexts;
  const fromTasks = C.conversation === 'tasks.history';
  const [row] = await rowsOf<ContextRow>(source, {
    sql: `select ${col('c', C.id)} as context_id, ${fromTasks ? `${tasksHistorySql(source, col('c', C.id))} as messages, 'tasks.history' as messages_from` : `${col('c', C.messages)} as messages`}, ${col('c', C.metadata)} as metadata,
            ${col('c', C.createdAt)} as created_at, ${col('c', C.updatedAt)} as updated_at${extraColumns('c', C.extras)}
          from ${table(source, C.table)} c where ${col('c', C.id)} = ?`,
    bindings: [contextId],
  });
  return row;
}
