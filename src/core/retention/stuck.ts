import * as repo from '../../db/inspect/index.js';
import { LIVE_STATUSES, type Page, type TaskSummaryRow } from '../../db/types.js';
import { pageOptions } from '../inspect.js';
import { parseOlderThan } from './batches.js';

// tasks stuck: live tasks nobody has updated for a while (after a restart of the server's
// in-memory scheduler they stay `submitted` or `working` forever).

export interface StuckInput {
  olderThan: string;
  limit?: string;
  after?: string;
  /** Every schema of a recognised layout, newest first across them. */
  allSchemas?: boolean;
}

/** A stuck task: its list row and how long since it last changed. */
export interface StuckTaskRow extends TaskSummaryRow {
  /** Seconds since updated_at, when the list was read. */
  age_seconds: number;
}

export function parseStuck(input: StuckInput): { cutoff: Date; page: repo.PageOptions } {
  // The cursor is bound to --older-than as typed: a page of another listing is not this one's next.
  return { cutoff: parseOlderThan(input.olderThan), page: pageOptions(input, 'tasks', { stuck: input.olderThan.trim() }) };
}

/** One page of the stuck tasks of the sources (one, or every schema), newest first like every task list. */
export async function listStuckTasks(sources: repo.Source[], input: StuckInput, now = new Date()): Promise<Page<StuckTaskRow>> {
  const { cutoff, page } = parseStuck(input);
  const filters = sources.map((source) => ({ statuses: LIVE_STATUSES.filter((s) => source.layout.statuses.includes(s)), updatedBefore: cutoff }));
  const rows: Page<TaskSummaryRow> = page.acrossSchemas ? await repo.listTasksAcross(sources, filters, page) : await repo.listTasks(sources[0], filters[0], page);
  return { ...rows, items: rows.items.map((t) => ({ ...t, age_seconds: Math.max(0, Math.floor((now.getTime() - new Date(t.updated_at).getTime()) / 1000)) })) };
}
