import { type Source, rowsOf, table } from './source.js';

// Synthetic data made by the server itself (INSERT … SELECT generate_series): no row travels
// over the wire, so a million tasks take seconds. Writes the bindu-db layout only.

const ASKS = [
  'Summarise the attached quarterly report.',
  'Translate the product description to German.',
  'Find three recent papers on retrieval-augmented generation.',
  'Draft a reply to the customer complaint in ticket 4312.',
  'Compare prices of the three shortlisted vendors.',
  'Extract the action items from the meeting transcript.',
  'Book a table for four on Friday evening.',
  'Check the nightly data sync for errors.',
];
const ANSWERS = [
  'Here is a five-bullet summary of the report.',
  'Hier ist die Produktbeschreibung auf Deutsch.',
  'I found three papers from 2024 and 2025; details below.',
  'Draft reply prepared and attached for review.',
  'Vendor B is cheapest overall once shipping is included.',
];
const FAILURES = [
  'HTTPError 429 Too Many Requests from api.example.com',
  'TimeoutError: the upstream agent did not answer within 300 s',
  'PDF parse error: unexpected end of stream at byte 48213',
  'ValueError: context window exceeded (131072 tokens)',
  'ConnectionResetError: peer closed the connection',
];

/** SQL for one A2A message object. */
function message(role: 'user' | 'agent', text: string, minutesAfter: number): string {
  return `jsonb_build_object('message_id', gen_random_uuid()::text, 'context_id', s.context_id::text, 'task_id', s.task_id::text,
    'kind', 'message', 'role', '${role}', 'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', ${text})),
    'metadata', jsonb_build_object('timestamp', to_char((s.created_at + interval '${minutesAfter} minutes') at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))`;
}

const list = (items: string[]) => `array[${items.map(() => '?').join(', ')}]::text[]`;

export interface GenerateOptions {
  tasks: number;
  contexts: number;
  /** Share of failed tasks (default 0.01). */
  failedRatio?: number;
  /** Insert the tasks in this many concurrent transactions (PostgreSQL; the embedded database has one connection). */
  parallel?: number;
  /**
   * PostgreSQL: have the server check every second that we are still there, so an interrupted
   * run's inserts are cancelled and rolled back at once instead of running to their end.
   */
  stopWithClient?: boolean;
}

/** True when any task or context exists. */
export async function hasInspectionData(source: Source): Promise<boolean> {
  const { tasks, contexts } = source.layout;
  const [row] = await rowsOf<{ any: boolean }>(source, { sql: `select exists(select 1 from ${table(source, tasks.table)}) or exists(select 1 from ${table(source, contexts.table)}) as any`, bindings: [] });
  return row.any === true;
}

/**
 * Inserts the contexts, then the tasks (with some feedback) in `parallel` slices of the series,
 * each slice in its own transaction so the server's cores share the JSON building.
 */
export async function generateSyntheticData(source: Source, opts: GenerateOptions): Promise<{ contexts: number; tasks: number; feedback: number }> {
  const salt = `bindu-db-${Date.now()}-${Math.random()}`;
  const failed = opts.failedRatio ?? 0.01;
  const watch = (tx: { query: (sql: string) => Promise<unknown> }) => (opts.stopWithClient ? tx.query("set local client_connection_check_interval = '1s'") : undefined);
  await source.sql.transaction(async (tx) => {
    await watch(tx);
    await tx.query(
      `insert into ${table(source, 'contexts')} (context_id, messages, metadata, created_at, updated_at)
       select md5('c' || ?::text || g)::uuid, '[]'::jsonb,
              jsonb_build_object('title', 'Synthetic conversation ' || g, 'agent', 'synthetic_agent', 'synthetic', true),
              now() - interval '30 days' + ((g - 1)::float8 / ?::float8) * interval '30 days' - interval '1 minute',
              now() - interval '30 days' + ((g - 1)::float8 / ?::float8) * interval '30 days' - interval '1 minute'
         from generate_series(1, ?::int) g`,
      [salt, opts.contexts, opts.contexts, opts.contexts],
    );
  });
  const slices = Math.max(1, Math.min(opts.parallel ?? 1, Math.ceil(opts.tasks / 50_000)));
  const size = Math.ceil(opts.tasks / slices);
  const insertSlice = (lo: number, hi: number) => source.sql.transaction(async (tx) => {
    await watch(tx);
    const [row] = await tx.query<{ tasks: string; feedback: string }>(
      `with s0 as (
         select g, created_at,
                -- Ids and contexts follow time (like UUIDv7 ids and real conversations): rows arrive
                -- in index order, so the B-trees grow at a few hot pages instead of all over.
                (lpad(to_hex(floor(extract(epoch from created_at) * 1000)::bigint), 12, '0') || substr(md5('t' || ?::text || g), 1, 20))::uuid as task_id,
                md5('c' || ?::text || (1 + (g - 1) * ?::bigint / ?::bigint))::uuid as context_id, random() as r,
                (${list(ASKS)})[1 + g % ${ASKS.length}] as ask,
                (${list(ANSWERS)})[1 + g % ${ANSWERS.length}] as answer,
                'Task execution failed: ' || (${list(FAILURES)})[1 + g % ${FAILURES.length}] as failure
           from (select g, now() - interval '30 days' + power((g - 1)::float8 / ?::float8, 0.8) * interval '30 days' + random() * interval '1 second' as created_at
                   from generate_series(?::int, ?::int) g) gs
       ), s as (
         select s0.*, (case when r < ?::float8 then 'failed'
                            when r < ?::float8 + 0.02 then 'pending'
                            when r < ?::float8 + 0.04 then 'running'
                            when r < ?::float8 + 0.07 then 'input_required'
                            else 'completed' end)::${table(source, 'task_status')} as status
           from s0
       ), ins as (
         insert into ${table(source, 'tasks')} (task_id, context_id, status, history, artifacts, created_at, updated_at)
         select s.task_id, s.context_id, s.status,
                case s.status
                  when 'pending' then jsonb_build_array(${message('user', 's.ask', 0)})
                  when 'running' then jsonb_build_array(${message('user', 's.ask', 0)})
                  when 'input_required' then jsonb_build_array(${message('user', 's.ask', 0)}, ${message('agent', `'I need more details to continue: which dates, and what budget.'`, 1)})
                  when 'failed' then jsonb_build_array(${message('user', 's.ask', 0)}, ${message('agent', `'Working on it.'`, 1)}, ${message('agent', 's.failure', 2)})
                  else jsonb_build_array(${message('user', 's.ask', 0)}, ${message('agent', 's.answer', 1)})
                end,
                case when s.status = 'completed'
                  then jsonb_build_object('artifacts', jsonb_build_array(jsonb_build_object('artifact_id', s.task_id::text, 'name', 'answer',
                         'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', s.answer)))))
                  else '{}'::jsonb end,
                s.created_at, s.created_at + interval '2 minutes'
           from s
         returning task_id, status, created_at
       ), fb as (
         insert into ${table(source, 'task_feedback')} (task_id, feedback, rating, metadata, created_at)
         select task_id,
                case when status = 'failed' then 'It failed without a useful message.' else 'Helpful answer.' end,
                case when status = 'failed' then 1 + floor(random() * 2)::int else 2 + floor(random() * 4)::int end,
                jsonb_build_object('source', 'synthetic'), created_at + interval '10 minutes'
           from ins where random() < 0.05
         returning 1
       )
       select (select count(*) from ins) as tasks, (select count(*) from fb) as feedback`,
      [salt, salt, opts.contexts, opts.tasks, ...ASKS, ...ANSWERS, ...FAILURES, opts.tasks, lo, hi, failed, failed, failed, failed],
    );
    return { tasks: Number(row.tasks), feedback: Number(row.feedback) };
  });
  const done = await Promise.all(Array.from({ length: slices }, (_, i) => insertSlice(i * size + 1, Math.min(opts.tasks, (i + 1) * size))));
  return { contexts: opts.contexts, tasks: done.reduce((a, d) => a + d.tasks, 0), feedback: done.reduce((a, d) => a + d.feedback, 0) };
}

/** Fresh planner statistics and visibility map after a bulk load, so the new rows get index(-only) scans. */
export async function analyzeInspectionTables(source: Source): Promise<void> {
  const { tasks, contexts, feedback } = source.layout;
  for (const t of [tasks.table, contexts.table, feedback.table]) await source.sql.query(`vacuum analyze ${table(source, t)}`);
}
