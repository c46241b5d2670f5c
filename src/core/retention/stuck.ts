import * as repo from '../../db/inspect/index.js';
import { LIVE_STATUSES, type Page, type TaskSummaryRow } from '../../db/types.js';
import { parseLimit } from '../inspectInput.js';
import { parseOlderThan } from './batches.js';

// tasks stuck: live tasks nobody has updated for a while (after a restart of the server's
// in-memory scheduler they stay `submitted` or `working` forever).

export interface StuckInput {
  olderThan: string;
  limit?: string;
  after?: string;
}

/** A stuck task: its list row and how long since it last changed. */
export interface StuckTaskRow extends TaskSummaryRow {
  /** Seconds since updated_at, when the list was read. */
  age_seconds: number;
}

export function parseStuck(input: StuckInput): { cutoff: Date; page: repo.PageOptions } {
  return {
    cutoff: parseOlderThan(input.olderThan),
    page: { limit: parseLimit(input.limit, 20), after: input.after !== undefined ? repo.decodeCursor('tasks', input.after.trim()) : undefined },
  };
}

/** One page of stuck tasks of the source, newest first like every task list. */
export async function listStuckTasks(source: repo.Source, input: StuckInput, now = new Date()): Promise<Page<StuckTaskRow>> {
  const { cutoff, page } = parseStuck(input);
  const statuses = LIVE_STATUSES.filter((s) => source.layout.statuses.includes(s));
  const rows = await repo.listTasks(source, { statuses, updatedBefore: cutoff }, page);
  return { ...rows, items: rows.items.map((t) => ({ ...t, age_seconds: Math.max(0, Math.floor((now.getTime() - new Date(t.updated_at).getTime()) / 1000)) })) };
}
