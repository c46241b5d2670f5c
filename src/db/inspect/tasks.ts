import { checkpoint } from '../../lib/process.js';
import type { TaskRow, TaskStatus, TaskSummaryRow, Page, FeedbackRow, WebhookConfigRow } from '../types.js';
import { type Keyset, keysetAfter, toPage } from './keyset.js';
import { utcTimestampSql } from '../timestamps.js';
import { UsageError } from '../../errors.js';
import { ident } from '../../lib/sqlIdent.js';
import { col, extraColumns } from '../layouts/layout.js';
import { PAYMENT_STATUS_KEY } from '../layouts/server.js';
import { type Source, type Statement, Where, num, placeholders, rowsOf, table, typedColumns, unionAcross } from './source.js';

export interface TaskFilter {
  /** Any of these (normalized) statuses. */
  statuses?: TaskStatus[];
  contextId?: string;
  /** created_at >= since */
  since?: Date;
  /** created_at < until */
  until?: Date;
  /** Server layout with owner_did only. */
  ownerDid?: string;
  /** Any of these x402 payment statuses (server layout: metadata->>'x402.payment.status'). */
  paymentStatuses?: string[];
  /** updated_at < updatedBefore (stuck tasks). */
  updatedBefore?: Date;
}

export interface PageOptions {
  limit: number;
  after?: Keyset;
  /** The page is one across schemas: keyset on (created_at, schema, id); see keysetAfter. */
  acrossSchemas?: boolean;
  /** Fingerprint of the listing's filters, carried by the next cursor (see encodeCursor). */
  scope?: string;
}

/** The filter as WHERE clauses on alias `t`, for one stored status (or none). */
function taskWhere(source: Source, filter: TaskFilter, stored: string | undefined, after: Keyset | undefined, acrossSchemas = false): Where {
  const T = source.layout.tasks;
  const w = new Where();
  if (stored !== undefined) w.add(`${col('t', T.status)} = ?`, stored);
  if (filter.contextId) w.add(`${col('t', T.contextId)} = ?`, filter.contextId);
  if (filter.since) w.add(`${col('t', T.createdAt)} >= ?`, filter.since);
  if (filter.until) w.add(`${col('t', T.createdAt)} < ?`, filter.until);
  if (filter.updatedBefore) w.add(`${col('t', T.updatedAt)} < ?`, filter.updatedBefore);
  if (filter.ownerDid !== undefined) {
    if (!T.ownerDid) throw new UsageError(`--owner: the ${source.layout.name} tasks table of this schema has no owner_did column`);
    w.add(`${col('t', T.ownerDid)} = ?`, filter.ownerDid);
  }
  if (filter.paymentStatuses?.length) {
    if (!T.metadata) throw new UsageError(`--payment-status: the ${source.layout.name} tasks table has no metadata column`);
    // Containment (@>) means the same as metadata->>'x402.payment.status' = ? for a string value,
    // and the server's GIN index on metadata can serve it.
    const one = `${col('t', T.metadata)} @> ?::jsonb`;
    w.add(`(${filter.paymentStatuses.map(() => one).join(' or ')})`, ...filter.paymentStatuses.map((p) => JSON.stringify({ [PAYMENT_STATUS_KEY]: p })));
  }
  if (after) keysetAfter(w, col('t', T.createdAt), col('t', T.id), 'uuid', after, 'tasks', acrossSchemas ? source.schema : undefined);
  return w;
}

/** Stored status values to query, or [undefined] for "any status". */
function storedValues(source: Source, statuses: TaskStatus[] | undefined): Array<string | undefined> {
  if (!statuses?.length) return [undefined];
  return [...new Set(statuses.flatMap((s) => source.layout.storedStatuses(s)))];
}

/**
 * Text of the text parts of the last agent message of a history column (SQL), at most 1000
 * characters. A history that is not an array (the server's JSONB column holds JSON null when
 * SQLAlchemy is given None) has no message: jsonb_array_elements would fail the whole list.
 */
function lastAgentTextSql(history: string): string {
  return `(select left(string_agg(p.value ->> 'text', ' ' order by p.n), 1000)
      from jsonb_array_elements(
        (select case when jsonb_typeof(m.value -> 'parts') = 'array' then m.value -> 'parts' else '[]'::jsonb end
           from jsonb_array_elements(case when jsonb_typeof(${history}) = 'array' then ${history} else '[]'::jsonb end) with ordinality m(value, n)
          where m.value ->> 'role' = 'agent'
          order by m.n desc limit 1)
      ) with ordinality p(value, n)
     where p.value ->> 'kind' = 'text')`;
}

/**
 * The light part of one schema's page: each status gets its own branch ordered by the
 * (status, created_at, id) index and cut at limit+1, so several statuses stay index scans.
 */
function taskBranches(source: Source, filter: TaskFilter, page: PageOptions): Statement {
  const T = source.layout.tasks;
  const take = page.limit + 1; // one extra row says whether a next page exists
  const bindings: unknown[] = [];
  const branches = storedValues(source, filter.statuses).map((stored) => {
    const w = taskWhere(source, filter, stored, page.after, page.acrossSchemas);
    bindings.push(...w.bindings, take);
    return `(select ${col('t', T.id)} as task_id, ${col('t', T.contextId)} as context_id, ${col('t', T.status)}::text as status,
              ${col('t', T.history)} as history, ${col('t', T.createdAt)} as created_at, ${col('t', T.updatedAt)} as updated_at${extraColumns('t', T.summaryExtras)}
         from ${table(source, T.table)} t ${w}
        order by ${col('t', T.createdAt)} desc, ${col('t', T.id)} desc limit ?)`;
  });
  if (branches.length === 1) return { sql: branches[0], bindings };
  return { sql: `select * from (${branches.join(' union all ')}) b order by created_at desc, task_id desc limit ?`, bindings: [...bindings, take] };
}

/**
 * The page's JSON work (message count, failure reason) on its final rows only. `inner` yields
 * the light columns, `extras` their names beyond ours, `schemaRank` whether a schema_rank
 * column orders schemas (a page across schemas).
 */
function taskPageOf(inner: Statement, failed: readonly string[], extras: readonly string[], schemaRank: boolean): Statement {
  const more = [...(schemaRank ? ['schema_rank'] : []), ...extras].map((name) => `, page.${ident(name)}`).join('');
  const sql = `select page.task_id, page.context_id, page.status, page.created_at, page.updated_at${more},
      ${utcTimestampSql('page.created_at')} as cursor_ts,
      case when jsonb_typeof(page.history) = 'array' then jsonb_array_length(page.history) else 0 end as message_count,
      case when page.status in (${placeholders(failed)}) then ${lastAgentTextSql('page.history')} end as failure_reason
    from (${inner.sql}) page
   order by page.created_at desc${schemaRank ? ', page.schema_rank desc' : ''}, page.task_id desc`;
  // Bindings in the order their ? appear: the failure-reason test comes first in the text.
  return { sql, bindings: [...failed, ...inner.bindings] };
}

/** One page of tasks of one schema, newest first. */
export function taskPageStatement(source: Source, filter: TaskFilter, page: PageOptions): Statement {
  return taskPageOf(taskBranches(source, filter, page), source.layout.storedStatuses('failed'), source.layout.tasks.summaryExtras.map(([name]) => name), false);
}

/** SQL types of the server's extra list fields, so that schemas without them give typed nulls in a union. */
const SUMMARY_EXTRA_TYPES: Readonly<Record<string, string>> = { state: 'text', state_timestamp: 'timestamptz', owner_did: 'text', payment_status: 'text' };

/**
 * One page of tasks across schemas (each source's filter already fitted to it), newest first:
 * one index-ordered branch per schema and status, each cut at limit+1, in one UNION ALL.
 */
export function taskPageAcrossStatement(sources: readonly Source[], filters: readonly TaskFilter[], page: PageOptions): Statement {
  const extras = [...new Set(sources.flatMap((s) => s.layout.tasks.summaryExtras.map(([name]) => name)))];
  const branches = sources.map((source, i) => ({
    rank: i,
    statement: taskBranches(source, filters[i], { ...page, acrossSchemas: true }),
    select: `x.task_id, x.context_id, x.status, x.history, x.created_at, x.updated_at${typedColumns(extras, SUMMARY_EXTRA_TYPES, source.layout.tasks.summaryExtras.map(([n]) => n))}`,
  }));
  const failed = [...new Set(sources.flatMap((s) => s.layout.storedStatuses('failed')))];
  return taskPageOf(unionAcross(branches, 'created_at desc, schema_rank desc, task_id desc', page.limit + 1), failed, extras, true);
}

type TaskPageRow = Omit<TaskSummaryRow, 'message_count'> & { message_count: unknown; cursor_ts: string };

export async function listTasks(source: Source, filter: TaskFilter, page: PageOptions): Promise<Page<TaskSummaryRow>> {
  const rows = await rowsOf<TaskPageRow>(source, taskPageStatement(source, filter, page));
  return toPage(rows, page, 'tasks', (r) => ({ id: r.task_id }), ({ cursor_ts: _, ...r }) => ({
    ...r,
    status: source.layout.normalizeStatus(r.status),
    message_count: num(r.message_count),
  }));
}

/** A row of a page across schemas: its schema (and the layout's own fields, null where a schema has none). */
export type AcrossRow<T> = T & { schema: string };

/**
 * A page of tasks across `sources` (in the order of their names, each with its fitted filter).
 * Every item carries its schema, and the server layout's fields (null on ours).
 */
export async function listTasksAcross(sources: readonly Source[], filters: readonly TaskFilter[], page: PageOptions): Promise<Page<AcrossRow<TaskSummaryRow>>> {
  if (sources.length === 0) return { items: [], next: null };
  const rows = await rowsOf<TaskPageRow & { schema_rank: number }>(sources[0], taskPageAcrossStatement(sources, filters, page));
  return toPage(rows, page, 'tasks', (r) => ({ id: r.task_id, schema: sources[r.schema_rank].schema }), ({ cursor_ts: _, schema_rank, ...r }) => ({
    schema: sources[schema_rank].schema,
    ...r,
    status: sources[schema_rank].layout.normalizeStatus(r.status),
    message_count: num(r.message_count),
  }));
}

/**
 * Every field of a task, status normalized in SQL. Export builds its JSON on the server, so
 * the timestamps are formatted here as every other command shows them (db/timestamps.ts).
 */
function taskColumns(source: Source, alias = 't'): string {
  const T = source.layout.tasks;
  return `${col(alias, T.id)} as task_id, ${col(alias, T.contextId)} as context_id, ${source.layout.normalizeStatusSql(col(alias, T.status))} as status,
    ${col(alias, T.history)} as history, ${col(alias, T.artifacts)} as artifacts,
    ${utcTimestampSql(col(alias, T.createdAt))} as created_at, ${utcTimestampSql(col(alias, T.updatedAt))} as updated_at${extraColumns(alias, T.detailExtras)}`;
}

/** Every field of a task, and for a failed one its failure reason (the last agent message's text). */
export async function getTask(source: Source, taskId: string): Promise<(TaskRow & { failure_reason: string | null }) | undefined> {
  const T = source.layout.tasks;
  const failed = source.layout.storedStatuses('failed');
  const [row] = await rowsOf<TaskRow & { failure_reason: string | null }>(source, {
    sql: `select ${taskColumns(source)},
            case when ${col('t', T.status)}::text in (${placeholders(failed)}) then ${lastAgentTextSql(col('t', T.history))} end as failure_reason
          from ${table(source, T.table)} t where ${col('t', T.id)} = ?`,
    bindings: [...failed, taskId],
  });
  return row;
}

export async function feedbackOfTask(source: Source, taskId: string): Promise<FeedbackRow[]> {
  const F = source.layout.feedback;
  const rows = await rowsOf<FeedbackRow>(source, {
    sql: `select ${col('f', F.id)} as feedback_id, ${col('f', F.taskId)} as task_id, ${col('f', F.text)} as feedback, ${col('f', F.rating)} as rating,
            ${col('f', F.metadata)} as metadata, ${col('f', F.createdAt)} as created_at
          from ${table(source, F.table)} f where ${col('f', F.taskId)} = ? order by ${col('f', F.createdAt)} desc, ${col('f', F.id)} desc`,
    bindings: [taskId],
  });
  return rows.map((r) => ({ ...r, feedback_id: String(r.feedback_id) })); // the server's ids are serial integers
}

export async function webhookConfigOfTask(source: Source, taskId: string): Promise<WebhookConfigRow | undefined> {
  const W = source.layout.webhooks;
  if (!W) return undefined;
  const [row] = await rowsOf<WebhookConfigRow>(source, {
    sql: `select ${col('w', W.taskId)} as task_id, ${col('w', W.config)} as config, ${col('w', W.createdAt)} as created_at, ${col('w', W.updatedAt)} as updated_at
          from ${table(source, W.table)} w where ${col('w', W.taskId)} = ?`,
    bindings: [taskId],
  });
  return row;
}

/**
 * Every matching task with all its columns as one JSON text per row, built by the server, in
 * storage order: a sequential scan is the fastest way to read them all. Timestamps keep
 * PostgreSQL's microseconds, in UTC (`2025-06-14T09:30:00.123456Z`). Rows come through a server-side cursor
 * `batch` at a time, so memory stays flat however many there are; `onBatch` is awaited
 * before the next fetch (backpressure). An aborted `signal` stops it between two fetches.
 */
export async function exportTasks(source: Source, filter: TaskFilter, onBatch: (lines: string[]) => Promise<void>, opts: { batch?: number; withSchema?: boolean; signal?: AbortSignal } = {}): Promise<number> {
  const T = source.layout.tasks;
  const batch = opts.batch ?? 1000;
  const stored = storedValues(source, filter.statuses);
  const w = taskWhere(source, { ...filter, statuses: undefined }, undefined, undefined);
  if (stored[0] !== undefined) w.add(`${col('t', T.status)}::text in (${placeholders(stored)})`, ...stored);
  // withSchema (an export across schemas): each line says which schema it comes from, first.
  const schema = opts.withSchema ? '?::text as schema, ' : '';
  const sql = `select row_to_json(x)::text as line from (select ${schema}${taskColumns(source)} from ${table(source, T.table)} t ${w}) x`;
  const bindings = [...(opts.withSchema ? [source.schema] : []), ...w.bindings];
  let count = 0;
  await source.sql.transaction(async (tx) => {
    await tx.query('set transaction read only');
    await tx.query("set local timezone = 'UTC'");
    await tx.query(`declare bindu_export no scroll cursor for ${sql}`, bindings);
    for (;;) {
      await checkpoint(opts.signal, 'the export stopped between two batches: every line written is whole');
      const rows = await tx.query<{ line: string }>(`fetch ${Math.trunc(batch)} from bindu_export`);
      if (rows.length === 0) break;
      count += rows.length;
      await onBatch(rows.map((r) => r.line));
    }
    await tx.query('close bindu_export');
  });
  return count;
}
