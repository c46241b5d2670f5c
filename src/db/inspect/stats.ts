import type { StatsRow } from '../types.js';
import { ident } from '../../lib/sqlIdent.js';
import { col } from '../layouts/layout.js';
import { type Source, type Statement, num, rowsOf, table } from './source.js';

// On our layout every aggregate is a count over one index range (per status, per day, per
// rating) rather than a GROUP BY over the table, so each is an index(-only) scan on millions
// of rows. The server's layout has a free-text state and ratings inside JSON: there we group,
// so that a state or rating outside the known ones is counted too (its state index still serves).

export function statsStatements(source: Source): Record<'byStatus' | 'perDay' | 'feedback' | 'sizes', Statement> {
  const { tasks: T, feedback: F, contexts: C, webhooks: W } = source.layout;
  const tasks = table(source, T.table);
  const statuses = source.layout.statuses;
  const byStatus = source.layout.freeTextStatus
    ? { sql: `select ${col('t', T.status)}::text as stored, count(*) as n from ${tasks} t group by 1`, bindings: [] }
    : {
        sql: `select ${statuses.map((s) => `(select count(*) from ${tasks} t where ${col('t', T.status)} in (${source.layout.storedStatuses(s).map(() => '?').join(', ')})) as ${ident(s)}`).join(', ')}`,
        bindings: statuses.flatMap((s) => source.layout.storedStatuses(s)),
      };
  const rating = col('f', F.rating);
  const feedback = typeof F.rating === 'string'
    ? // Unrated rows counted apart, so the total is a sum of index ranges too.
      `select null::float8 as rating, (select count(*) from ${table(source, F.table)} f where ${rating} is null) as n
       ${[1, 2, 3, 4, 5].map((r) => `union all select ${r}, (select count(*) from ${table(source, F.table)} f where ${rating} = ${r})`).join(' ')}`
    : `select ${rating} as rating, count(*) as n from ${table(source, F.table)} f group by 1`;
  const tables = [T.table, C.table, F.table, ...(W ? [W.table] : [])];
  // Tasks and feedback rows are the sums above; the small tables are counted here.
  const counted = [C.table, ...(W ? [W.table] : [])];
  return {
    byStatus,
    perDay: {
      sql: `select to_char(d, 'YYYY-MM-DD') as date,
          (select count(*) from ${tasks} t where ${col('t', T.createdAt)} >= (d at time zone 'UTC') and ${col('t', T.createdAt)} < ((d + interval '1 day') at time zone 'UTC')) as count
        from generate_series(date_trunc('day', now() at time zone 'UTC') - interval '13 days', date_trunc('day', now() at time zone 'UTC'), interval '1 day') d
        order by d`,
      bindings: [],
    },
    feedback: { sql: feedback, bindings: [] },
    sizes: {
      sql: `select n.name, pg_total_relation_size(to_regclass(quote_ident(?::text) || '.' || quote_ident(n.name))) as bytes,
          ${'case n.name ' + counted.map((t) => `when ? then (select count(*) from ${table(source, t)})`).join(' ') + ' end'} as rows
        from (values ${tables.map(() => '(?)').join(', ')}) n(name)`,
      bindings: [source.schema, ...counted, ...tables],
    },
  };
}

/** Counts by normalized status (every status of the layout present) and, on the server's layout, by its own state. */
async function countByStatus(source: Source, st: Statement): Promise<Pick<StatsRow, 'tasks_by_status' | 'tasks_by_state'>> {
  const { layout } = source;
  const tasks_by_status: Record<string, number> = Object.fromEntries(layout.statuses.map((s) => [s, 0]));
  if (!layout.freeTextStatus) {
    const [row] = await rowsOf<Record<string, unknown>>(source, st);
    for (const s of layout.statuses) tasks_by_status[s] = num(row[s]);
    return { tasks_by_status };
  }
  const rows = await rowsOf<{ stored: string; n: unknown }>(source, st);
  const tasks_by_state: Record<string, number> = Object.fromEntries(layout.statuses.flatMap((s) => layout.storedStatuses(s)).map((s) => [s, 0]));
  for (const r of rows) {
    const status = layout.normalizeStatus(r.stored);
    tasks_by_status[status] = (tasks_by_status[status] ?? 0) + num(r.n);
    tasks_by_state[r.stored] = (tasks_by_state[r.stored] ?? 0) + num(r.n);
  }
  return { tasks_by_status, tasks_by_state };
}

/** Tasks by normalized status (and, on the server's layout, by its own state). */
export async function taskStatusCounts(source: Source): Promise<Pick<StatsRow, 'tasks_by_status' | 'tasks_by_state'>> {
  return countByStatus(source, statsStatements(source).byStatus);
}

/** The newest update of a task or context of the schema; null when it holds none. */
export async function lastActivity(source: Source): Promise<Date | null> {
  const { tasks: T, contexts: C } = source.layout;
  const [row] = await rowsOf<{ at: Date | null }>(source, {
    sql: `select greatest((select max(${col('t', T.updatedAt)}) from ${table(source, T.table)} t), (select max(${col('c', C.updatedAt)}) from ${table(source, C.table)} c)) as at`,
    bindings: [],
  });
  return row.at;
}

export async function collectStats(source: Source): Promise<StatsRow> {
  const { tasks: T, feedback: F } = source.layout;
  const st = statsStatements(source);
  const counts = await countByStatus(source, st.byStatus);
  const perDay = await rowsOf<{ date: string; count: unknown }>(source, st.perDay);
  const ratings = await rowsOf<{ rating: number | null; n: unknown }>(source, st.feedback);
  const sizes = await rowsOf<{ name: string; bytes: unknown; rows: unknown }>(source, st.sizes);
  const total = Object.values(counts.tasks_by_status).reduce((a, b) => a + b, 0);
  // 1-5 always present; the server's unenforced ratings may add other values.
  const by_rating: Record<string, number> = Object.fromEntries([1, 2, 3, 4, 5].map((r) => [String(r), 0]));
  let unrated = 0;
  for (const r of ratings) {
    if (r.rating === null) unrated += num(r.n);
    else by_rating[String(Number(r.rating))] = (by_rating[String(Number(r.rating))] ?? 0) + num(r.n);
  }
  const rated = Object.values(by_rating).reduce((a, b) => a + b, 0);
  const ratingSum = Object.entries(by_rating).reduce((a, [r, n]) => a + Number(r) * n, 0);
  return {
    tasks_by_status: counts.tasks_by_status,
    ...(counts.tasks_by_state ? { tasks_by_state: counts.tasks_by_state } : {}),
    tasks_per_day: perDay.map((d) => ({ date: d.date, count: num(d.count) })),
    failure_rate: total ? (counts.tasks_by_status.failed ?? 0) / total : null,
    feedback: { count: rated + unrated, by_rating, average_rating: rated ? Math.round((ratingSum / rated) * 100) / 100 : null },
    table_sizes: Object.fromEntries(
      sizes.map((s) => [s.name, { rows: s.name === T.table ? total : s.name === F.table ? rated + unrated : num(s.rows), bytes: num(s.bytes) }]),
    ),
  };
}
