import { TASK_STATUSES, type StatsRow, type TaskStatus } from '../types.js';
import { col, ident } from './layout.js';
import { type Source, type Statement, num, rowsOf } from './source.js';

// Every aggregate is a count over one index range (per status, per day, per rating) rather
// than a GROUP BY over the table, so each is an index(-only) scan on millions of rows.

export function statsStatements(source: Source): Record<'byStatus' | 'perDay' | 'feedback' | 'sizes', Statement> {
  const { tasks: T, feedback: F, contexts: C, webhooks: W } = source.layout;
  const tasks = ident(T.table);
  const byStatus = TASK_STATUSES.map(
    (s) => `(select count(*) from ${tasks} t where ${col('t', T.status)} in (${source.layout.storedStatuses(s).map(() => '?').join(', ')})) as ${ident(s)}`,
  );
  const tables = [T.table, C.table, F.table, ...(W ? [W.table] : [])];
  // Tasks and feedback rows are the sums above; the small tables are counted here.
  const counted = [C.table, ...(W ? [W.table] : [])];
  return {
    byStatus: { sql: `select ${byStatus.join(', ')}`, bindings: TASK_STATUSES.flatMap((s) => source.layout.storedStatuses(s)) },
    perDay: {
      sql: `select to_char(d, 'YYYY-MM-DD') as date,
          (select count(*) from ${tasks} t where ${col('t', T.createdAt)} >= (d at time zone 'UTC') and ${col('t', T.createdAt)} < ((d + interval '1 day') at time zone 'UTC')) as count
        from generate_series(date_trunc('day', now() at time zone 'UTC') - interval '13 days', date_trunc('day', now() at time zone 'UTC'), interval '1 day') d
        order by d`,
      bindings: [],
    },
    feedback: {
      // Unrated rows counted apart, so the total is a sum of index ranges too.
      sql: `select (select count(*) from ${ident(F.table)} f where ${col('f', F.rating)} is null) as unrated, ${[1, 2, 3, 4, 5].map((r) => `(select count(*) from ${ident(F.table)} f where ${col('f', F.rating)} = ${r}) as ${ident(`r${r}`)}`).join(', ')}`,
      bindings: [],
    },
    sizes: {
      sql: `select n.name, pg_total_relation_size(to_regclass(quote_ident(current_schema()) || '.' || quote_ident(n.name))) as bytes,
          ${'case n.name ' + counted.map((t) => `when ? then (select count(*) from ${ident(t)})`).join(' ') + ' end'} as rows
        from (values ${tables.map(() => '(?)').join(', ')}) n(name)`,
      bindings: [...counted, ...tables],
    },
  };
}

export async function collectStats(source: Source): Promise<StatsRow> {
  const { tasks: T, feedback: F } = source.layout;
  const st = statsStatements(source);
  const [byStatus] = await rowsOf<Record<TaskStatus, unknown>>(source, st.byStatus);
  const perDay = await rowsOf<{ date: string; count: unknown }>(source, st.perDay);
  const [fb] = await rowsOf<Record<string, unknown>>(source, st.feedback);
  const sizes = await rowsOf<{ name: string; bytes: unknown; rows: unknown }>(source, st.sizes);
  const tasks_by_status = Object.fromEntries(TASK_STATUSES.map((s) => [s, num(byStatus[s])])) as Record<TaskStatus, number>;
  const total = Object.values(tasks_by_status).reduce((a, b) => a + b, 0);
  const by_rating = Object.fromEntries([1, 2, 3, 4, 5].map((r) => [String(r), num(fb[`r${r}`])]));
  const rated = Object.values(by_rating).reduce((a, b) => a + b, 0);
  const ratingSum = Object.entries(by_rating).reduce((a, [r, n]) => a + Number(r) * n, 0);
  return {
    tasks_by_status,
    tasks_per_day: perDay.map((d) => ({ date: d.date, count: num(d.count) })),
    failure_rate: total ? tasks_by_status.failed / total : null,
    feedback: { count: rated + num(fb.unrated), by_rating, average_rating: rated ? Math.round((ratingSum / rated) * 100) / 100 : null },
    table_sizes: Object.fromEntries(
      sizes.map((s) => [s.name, { rows: s.name === T.table ? total : s.name === F.table ? rated + num(fb.unrated) : num(s.rows), bytes: num(s.bytes) }]),
    ),
  };
}
