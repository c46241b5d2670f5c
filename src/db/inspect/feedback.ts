import type { FeedbackRow, Page } from '../types.js';
import { keysetAfter, toPage } from './keyset.js';
import { utcTimestampSql } from '../timestamps.js';
import { col } from '../layouts/layout.js';
import { type Source, type Statement, Where, rowsOf, table, unionAcross } from './source.js';
import type { AcrossRow, PageOptions } from './tasks.js';

export interface FeedbackFilter {
  taskId?: string;
  /** Exactly these ratings (one branch each, so every branch is an index scan). */
  ratings?: number[];
  since?: Date;
  /** created_at < until */
  until?: Date;
}

export function feedbackPageStatement(source: Source, filter: FeedbackFilter, page: PageOptions): Statement {
  const F = source.layout.feedback;
  const take = page.limit + 1;
  const bindings: unknown[] = [];
  const ratings: Array<number | undefined> = filter.ratings?.length ? filter.ratings : [undefined];
  const branches = ratings.map((rating) => {
    const w = new Where();
    if (filter.taskId) w.add(`${col('f', F.taskId)} = ?`, filter.taskId);
    if (rating !== undefined) w.add(`${col('f', F.rating)} = ?`, rating);
    if (filter.since) w.add(`${col('f', F.createdAt)} >= ?`, filter.since);
    if (filter.until) w.add(`${col('f', F.createdAt)} < ?`, filter.until);
    if (page.after) keysetAfter(w, col('f', F.createdAt), col('f', F.id), F.idType, page.after, 'feedback', page.acrossSchemas ? source.schema : undefined);
    bindings.push(...w.bindings, take);
    return `(select ${col('f', F.id)} as feedback_id, ${col('f', F.taskId)} as task_id, ${col('f', F.text)} as feedback,
              ${col('f', F.rating)} as rating, ${col('f', F.metadata)} as metadata, ${col('f', F.createdAt)} as created_at
         from ${table(source, F.table)} f ${w}
        order by ${col('f', F.createdAt)} desc, ${col('f', F.id)} desc limit ?)`;
  });
  const inner = branches.length === 1 ? branches[0] : `select * from (${branches.join(' union all ')}) b order by created_at desc, feedback_id desc limit ?`;
  if (branches.length > 1) bindings.push(take);
  return { sql: `select page.*, ${utcTimestampSql('page.created_at')} as cursor_ts from (${inner}) page order by page.created_at desc, page.feedback_id desc`, bindings };
}

export async function listFeedback(source: Source, filter: FeedbackFilter, page: PageOptions): Promise<Page<FeedbackRow>> {
  const rows = await rowsOf<FeedbackRow & { cursor_ts: string }>(source, feedbackPageStatement(source, filter, page));
  // The server's ids are serial integers: text here, so feedback_id has one type on both layouts.
  return toPage(rows, page, 'feedback', (r) => ({ id: String(r.feedback_id) }), ({ cursor_ts: _, ...r }) => ({ ...r, feedback_id: String(r.feedback_id) }));
}

/**
 * A page of feedback across `sources` (in the order of their names), each item with its schema.
 * Ids are uuids on ours and serial integers on the server's: merged as text, with integers
 * zero-padded so that text order is their numeric order within a schema.
 */
export async function listFeedbackAcross(sources: readonly Source[], filter: FeedbackFilter, page: PageOptions): Promise<Page<AcrossRow<FeedbackRow>>> {
  if (sources.length === 0) return { items: [], next: null };
  const branches = sources.map((source, rank) => ({
    rank,
    statement: feedbackPageStatement(source, filter, { ...page, acrossSchemas: true }),
    select: `x.feedback_id::text as feedback_id, x.task_id, x.feedback::text as feedback, x.rating::float8 as rating, x.metadata, x.created_at, x.cursor_ts,
             lpad(x.feedback_id::text, 36, '0') collate "C" as id_sort`,
  }));
  const rows = await rowsOf<FeedbackRow & { cursor_ts: string; schema_rank: number; id_sort: string }>(sources[0], unionAcross(branches, 'created_at desc, schema_rank desc, id_sort desc', page.limit + 1));
  return toPage(rows, page, 'feedback', (r) => ({ id: r.feedback_id, schema: sources[r.schema_rank].schema }), ({ cursor_ts: _, schema_rank, id_sort: __, ...r }) => ({ schema: sources[schema_rank].schema, ...r }));
}
