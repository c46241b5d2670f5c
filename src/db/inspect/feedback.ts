import type { FeedbackRow, Page } from '../types.js';
import { type Keyset, cursorTsSql, keysetId, toPage } from './keyset.js';
import { col } from '../layouts/layout.js';
import { type Source, type Statement, Where, rowsOf, table } from './source.js';

export interface FeedbackFilter {
  taskId?: string;
  /** Exactly these ratings (one branch each, so every branch is an index scan). */
  ratings?: number[];
  since?: Date;
}

export function feedbackPageStatement(source: Source, filter: FeedbackFilter, page: { limit: number; after?: Keyset }): Statement {
  const F = source.layout.feedback;
  const take = page.limit + 1;
  const bindings: unknown[] = [];
  const afterId = page.after && keysetId(page.after, F.idType, 'feedback');
  const ratings: Array<number | undefined> = filter.ratings?.length ? filter.ratings : [undefined];
  const branches = ratings.map((rating) => {
    const w = new Where();
    if (filter.taskId) w.add(`${col('f', F.taskId)} = ?`, filter.taskId);
    if (rating !== undefined) w.add(`${col('f', F.rating)} = ?`, rating);
    if (filter.since) w.add(`${col('f', F.createdAt)} >= ?`, filter.since);
    if (page.after) w.add(`(${col('f', F.createdAt)}, ${col('f', F.id)}) < (?::timestamptz, ?::${F.idType})`, page.after.ts, afterId);
    bindings.push(...w.bindings, take);
    return `(select ${col('f', F.id)} as feedback_id, ${col('f', F.taskId)} as task_id, ${col('f', F.text)} as feedback,
              ${col('f', F.rating)} as rating, ${col('f', F.metadata)} as metadata, ${col('f', F.createdAt)} as created_at
         from ${table(source, F.table)} f ${w}
        order by ${col('f', F.createdAt)} desc, ${col('f', F.id)} desc limit ?)`;
  });
  const inner = branches.length === 1 ? branches[0] : `select * from (${branches.join(' union all ')}) b order by created_at desc, feedback_id desc limit ?`;
  if (branches.length > 1) bindings.push(take);
  return { sql: `select page.*, ${cursorTsSql('page.created_at')} as cursor_ts from (${inner}) page order by page.created_at desc, page.feedback_id desc`, bindings };
}

export async function listFeedback(source: Source, filter: FeedbackFilter, page: { limit: number; after?: Keyset }): Promise<Page<FeedbackRow>> {
  const rows = await rowsOf<FeedbackRow & { cursor_ts: string }>(source, feedbackPageStatement(source, filter, page));
  // The server's ids are serial integers: text here, so feedback_id has one type on both layouts.
  return toPage(rows, page.limit, 'feedback', (r) => String(r.feedback_id), ({ cursor_ts: _, ...r }) => ({ ...r, feedback_id: String(r.feedback_id) }));
}
