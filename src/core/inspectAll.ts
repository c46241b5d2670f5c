import type { Database } from '../db/connect.js';
import { currentRole, detectLayouts } from '../db/layouts/detect.js';
import { OperationError } from '../errors.js';
import { firstFew } from '../lib/words.js';
import * as repo from '../db/inspect/index.js';
import type { LayoutName } from '../db/layouts/detect.js';
import type { Page, StatsRow } from '../db/types.js';

// --all-schemas: one answer over every schema of a recognised layout. Filters mean what they
// mean on one schema; a schema that cannot answer one (--owner where no owner is recorded) is
// left out and named in `skipped`, for the command to say once.

/** A schema left out of an answer across schemas, and why. */
export interface Skipped {
  schema: string;
  reason: string;
}

export type AcrossPage<T> = Page<repo.AcrossRow<T>> & { skipped: Skipped[] };

/** The data-access source of every schema of a recognised layout, in the order of their names. */
export async function allSources(db: Database, layoutFor: (found: { layout: LayoutName; ownerDid: boolean }) => repo.Layout): Promise<repo.Source[]> {
  const found = await detectLayouts(db.sql);
  const unreadable = found.filter((s) => !s.readable).map((s) => s.schema);
  // An answer across schemas without some of them would read as the whole fleet's.
  if (unreadable.length) {
    const readable = found.filter((s) => s.readable).map((s) => s.schema);
    throw new OperationError(
      `the role ${await currentRole(db.sql)} cannot read ${unreadable.length} of the ${found.length} schemas holding Bindu tables: ${firstFew(unreadable)}`,
      `read those it can one at a time with --schema${readable.length ? ` (it can read ${firstFew(readable)})` : ''}, or connect as a role that can read them all`,
    );
  }
  return found.sort((a, b) => (a.schema < b.schema ? -1 : a.schema > b.schema ? 1 : 0)).map((s) => repo.sourceOf(db.sql, s.schema, layoutFor(s)));
}

/**
 * The task filter as one schema can serve it, or why it cannot: statuses its layout does not
 * have match none of its rows; owner and payment filters need columns some schemas lack.
 */
export function fitTaskFilter(source: repo.Source, filter: repo.TaskFilter): repo.TaskFilter | string {
  const { layout } = source;
  if (filter.ownerDid !== undefined && !layout.tasks.ownerDid) return '--owner: no owner_did column';
  if (filter.paymentStatuses && !layout.tasks.metadata) return '--payment-status: records no payment status';
  if (!filter.statuses) return filter;
  const statuses = filter.statuses.filter((s) => layout.statuses.includes(s));
  return statuses.length ? { ...filter, statuses } : `--status: ${layout.name} schemas have no ${filter.statuses.join(', ')} tasks`;
}

/** Sources split into those that serve the filter (with it fitted) and those skipped. */
export function fitSources<F>(sources: readonly repo.Source[], fit: (s: repo.Source) => F | string): { sources: repo.Source[]; filters: F[]; skipped: Skipped[] } {
  const out = { sources: [] as repo.Source[], filters: [] as F[], skipped: [] as Skipped[] };
  for (const source of sources) {
    const fitted = fit(source);
    if (typeof fitted === 'string') out.skipped.push({ schema: source.schema, reason: fitted });
    else {
      out.sources.push(source);
      out.filters.push(fitted);
    }
  }
  return out;
}

export const fitContextFilter = (source: repo.Source, filter: repo.ContextFilter): repo.ContextFilter | string =>
  filter.ownerDid !== undefined && !source.layout.contexts.ownerDid ? '--owner: no owner_did column' : filter;

/** Stats of several schemas as one: counts summed, rates and averages recomputed. */
export function mergeStats(all: readonly StatsRow[]): StatsRow {
  const sum = (maps: Array<Record<string, number> | undefined>) => {
    const out: Record<string, number> = {};
    for (const m of maps) for (const [k, n] of Object.entries(m ?? {})) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const tasks_by_status = sum(all.map((s) => s.tasks_by_status));
  const states = all.filter((s) => s.tasks_by_state);
  const total = Object.values(tasks_by_status).reduce((a, b) => a + b, 0);
  const by_rating = sum(all.map((s) => s.feedback.by_rating));
  const rated = Object.values(by_rating).reduce((a, b) => a + b, 0);
  const ratingSum = Object.entries(by_rating).reduce((a, [r, n]) => a + Number(r) * n, 0);
  const perDay = sum(all.map((s) => Object.fromEntries(s.tasks_per_day.map((d) => [d.date, d.count]))));
  const sizes: StatsRow['table_sizes'] = {};
  for (const s of all) {
    for (const [name, z] of Object.entries(s.table_sizes)) sizes[name] = { rows: (sizes[name]?.rows ?? 0) + z.rows, bytes: (sizes[name]?.bytes ?? 0) + z.bytes };
  }
  return {
    tasks_by_status,
    ...(states.length ? { tasks_by_state: sum(states.map((s) => s.tasks_by_state)) } : {}),
    tasks_per_day: Object.keys(perDay).sort().map((date) => ({ date, count: perDay[date] })),
    failure_rate: total ? (tasks_by_status.failed ?? 0) / total : null,
    feedback: { count: all.reduce((a, s) => a + s.feedback.count, 0), by_rating, average_rating: rated ? Math.round((ratingSum / rated) * 100) / 100 : null },
    table_sizes: sizes,
  };
}

/** One agent's line of `stats --by-schema`. */
export interface SchemaStatsRow {
  schema: string;
  layout: LayoutName;
  tasks: number;
  tasks_by_status: Record<string, number>;
  failure_rate: number | null;
  last_activity: Date | null;
}

export async function schemaStats(source: repo.Source): Promise<SchemaStatsRow> {
  const { tasks_by_status } = await repo.taskStatusCounts(source);
  const tasks = Object.values(tasks_by_status).reduce((a, b) => a + b, 0);
  return {
    schema: source.schema,
    layout: source.layout.name,
    tasks,
    tasks_by_status,
    failure_rate: tasks ? (tasks_by_status.failed ?? 0) / tasks : null,
    last_activity: await repo.lastActivity(source),
  };
}
