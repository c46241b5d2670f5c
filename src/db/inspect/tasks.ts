import type { TaskRow, TaskStatus, TaskSummaryRow, Page, FeedbackRow, WebhookConfigRow } from '../types.js';
import { type Keyset, cursorTsSql, toPage } from './keyset.js';
import { UsageError } from '../../errors.js';
import { ident } from '../../lib/sqlIdent.js';
import { col, extraColumns } from '../layouts/layout.js';
import { PAYMENT_STATUS_KEY } from '../layouts/server.js';
import { type Source, type Statement, Where, num, placeholders, rowsOf, table } from './source.js';

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
}

export interface PageOptions {
  limit: number;
  after?: Keyset;
}

/** The filter as WHERE clauses on alias `t`, for one stored status (or none). */
function taskWhere(source: Source, filter: TaskFilter, stored: string | undefined, after: Keyset | undefined): Where {
  const T = source.layout.tasks;
  const w = new Where();
  if (stored !== undefined) w.add(`${col('t', T.status)} = ?`, stored);
  if (filter.contextId) w.add(`${col('t', T.contextId)} = ?`, filter.contextId);
  if (filter.since) w.add(`${col('t', T.createdAt)} >= ?`, filter.since);
  if (filter.until) w.add(`${col('t', T.createdAt)} < ?`, filter.until);
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
  if (after) w.add(`(${col('t', T.createdAt)}, ${col('t', T.id)}) < (?::timestamptz, ?::uuid)`, after.ts, after.id);
  return w;
}

/** Stored status values to query, or [undefined] for "any status". */
function storedValues(source: Source, statuses: TaskStatus[] | undefined): Array<string | undefined> {
  if (!statuses?.length) return [undefined];
  return [...new Set(statuses.flatMap((s) => source.layout.storedStatuses(s)))];
}

/** Text of the text parts of the last agent message of a history column (SQL), at most 1000 characters. */
function lastAgentTextSql(history: string): string {
  return `(select left(string_agg(p.value ->> 'text', ' ' order by p.n), 1000)
      from jsonb_array_elements(
        (select case when jsonb_typeof(m.value -> 'parts') = 'array' then m.value -> 'parts' else '[]'::jsonb end
           from jsonb_array_elements(${history}) with ordinality m(value, n)
          where m.value ->> 'role' = 'agent'
          order by m.n desc limit 1)
      ) with ordinality p(value, n)
     where p.value ->> 'kind' = 'text')`;
}

/**
 * One page of tasks, newest first. Each status gets its own branch ordered by the
 * (status, created_at, id) index and cut at the limit, so several statuses stay index scans;
 * the JSON work (message count, failure reason) runs on the final page only.
 */
export function taskPageStatement(source: Source, filter: TaskFilter, page: PageOptions): Statement {
  const T = source.layout.tasks;
  const take = page.limit + 1; // one extra row says whether a next page exists
  const bindings: unknown[] = [];
  const branches = storedValues(source, filter.statuses).map((stored) => {
    const w = taskWhere(source, filter, stored, page.after);
    bindings.push(...w.bindings, take);
    return `(select ${col('t', T.id)} as task_id, ${col('t', T.contextId)} as context_id, ${col('t', T.status)}::text as status,
              ${col('t', T.history)} as history, ${col('t', T.createdAt)} as created_at, ${col('t', T.updatedAt)} as updated_at${extraColumns('t', T.summaryExtras)}
         from ${table(source, T.table)} t ${w}
        order by ${col('t', T.createdAt)} desc, ${col('t', T.id)} desc limit ?)`;
  });
  const inner = branches.length === 1 ? branches[0] : `select * from (${branches.join(' union all ')}) b order by created_at desc, task_id desc limit ?`;
  if (branches.length > 1) bindings.push(take);
  const failed = source.layout.storedStatuses('failed');
  const extras = T.summaryExtras.map(([name]) => `, page.${ident(name)}`).join('');
  const sql = `select page.task_id, page.context_id, page.status, page.created_at, page.updated_at${extras},
      ${cursorTsSql('page.created_at')} as cursor_ts,
      case when jsonb_typeof(page.history) = 'array' then jsonb_array_length(page.history) else 0 end as message_count,
      case when page.status in (${placeholders(failed)}) then ${lastAgentTextSql('page.history')} end as failure_reason
    from (${inner}) page
   order by page.created_at desc, page.task_id desc`;
  // Bindings in the order their ? appear: the failure-reason test comes first in the text.
  return { sql, bindings: [...failed, ...bindings] };
}

type TaskPageRow = Omit<TaskSummaryRow, 'message_count'> & { message_count: unknown; cursor_ts: string };

export async function listTasks(source: Source, filter: TaskFilter, page: PageOptions): Promise<Page<TaskSummaryRow>> {
  const rows = await rowsOf<TaskPageRow>(source, taskPageStatement(source, filter, page));
  return toPage(rows, page.limit, 'tasks', (r) => r.task_id, ({ cursor_ts: _, ...r }) => ({
    ...r,
    status: source.layout.normalizeStatus(r.status),
    message_count: num(r.message_count),
  }));
}

/** Every field of a task, status normalized in SQL (export builds its JSON on the server). */
function taskColumns(source: Source, alias = 't'): string {
  const T = source.layout.tasks;
  return `${col(alias, T.id)} as task_id, ${col(alias, T.contextId)} as context_id, ${source.layout.normalizeStatusSql(col(alias, T.status))} as status,
    ${col(alias, T.history)} as history, ${col(alias, T.artifacts)} as artifacts,
    ${col(alias, T.createdAt)} as created_at, ${col(alias, T.updatedAt)} as updated_at${extraColumns(alias, T.detailExtras)}`;
}

export async function getTask(source: Source, taskId: string): Promise<TaskRow | undefined> {
  const T = source.layout.tasks;
  const [row] = await rowsOf<TaskRow>(source, { sql: `select ${taskColumns(source)} from ${table(source, T.table)} t where ${col('t', T.id)} = ?`, bindings: [taskId] });
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
 * PostgreSQL's microseconds, in UTC (`2025-06-14T09:30:00.123456+00:00`): formatting them
 * with to_char would cost a third of the export. Rows come through a server-side cursor
 * `batch` at a time, so memory stays flat however many there are; `onBatch` is awaited
 * before the next fetch (backpressure).
 */
export async function exportTasks(source: Source, filter: TaskFilter, onBatch: (lines: string[]) => Promise<void>, batch = 1000): Promise<number> {
  const T = source.layout.tasks;
  const stored = storedValues(source, filter.statuses);
  const w = taskWhere(source, { ...filter, statuses: undefined }, undefined, undefined);
  if (stored[0] !== undefined) w.add(`${col('t', T.status)}::text in (${placeholders(stored)})`, ...stored);
  const sql = `select row_to_json(x)::text as line from (select ${taskColumns(source)} from ${table(source, T.table)} t ${w}) x`;
  let count = 0;
  await source.sql.transaction(async (tx) => {
    await tx.query('set transaction read only');
    await tx.query("set local timezone = 'UTC'");
    await tx.query(`declare bindu_export no scroll cursor for ${sql}`, w.bindings);
    for (;;) {
      const rows = await tx.query<{ line: string }>(`fetch ${Math.trunc(batch)} from bindu_export`);
      if (rows.length === 0) break;
      count += rows.length;
      await onBatch(rows.map((r) => r.line));
    }
    await tx.query('close bindu_export');
  });
  return count;
}
