import { abortError, checkpoint } from '../../lib/process.js';
import { BACKEND_PID_SQL } from '../pooler.js';
import type { SqlRunner } from '../sqlRunner.js';
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

/** One range [lo, hi] of the task series, with some feedback: a single statement. */
const tasksSql = (source: Source) =>
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
   select (select count(*) from ins) as tasks, (select count(*) from fb) as feedback`;

export interface GenerateOptions {
  tasks: number;
  contexts: number;
  /** Share of failed tasks (default 0.01). */
  failedRatio?: number;
  /**
   * PostgreSQL: insert the tasks in this many concurrent transactions (slices of the series),
   * so the server's cores share the JSON building.
   */
  parallel?: number;
  /**
   * The embedded database: everything in one transaction, this many rows per statement. PGlite
   * holds our only thread while a statement runs, so only between statements can a signal be
   * seen; pieces keep that wait short, and one transaction makes an interrupted run leave nothing.
   */
  pieces?: number;
  /** Aborted (Ctrl-C): stop, cancelling what runs on the server. */
  signal?: AbortSignal;
  /**
   * PostgreSQL: cancels the statements of these backends, from a connection of its own (a pool
   * whose every connection runs a slice could not lend it one).
   */
  cancel?(pids: number[]): Promise<void>;
}

type Generated = { contexts: number; tasks: number; feedback: number };

/** True when any task or context exists. */
export async function hasInspectionData(source: Source): Promise<boolean> {
  const { tasks, contexts } = source.layout;
  const [row] = await rowsOf<{ any: boolean }>(source, { sql: `select exists(select 1 from ${table(source, tasks.table)}) or exists(select 1 from ${table(source, contexts.table)}) as any`, bindings: [] });
  return row.any === true;
}

/** 1..n cut into ranges [lo, hi] of `size`. */
const ranges = (n: number, size: number): Array<[number, number]> => Array.from({ length: Math.ceil(n / size) }, (_, i) => [i * size + 1, Math.min(n, (i + 1) * size)]);

/**
 * Inserts the contexts, then the tasks (with some feedback). On PostgreSQL: the contexts in a
 * transaction of their own, then the tasks in `parallel` slices at once, each its own
 * transaction; interrupted, the slices still running are cancelled on the server and roll back.
 * On the embedded database (`pieces`): all of it in one transaction, in pieces with a look at
 * the signal between them; interrupted, it all rolls back.
 */
export async function generateSyntheticData(source: Source, opts: GenerateOptions): Promise<Generated> {
  const salt = `bindu-db-${Date.now()}-${Math.random()}`;
  const failed = opts.failedRatio ?? 0.01;
  const insertContexts = (tx: SqlRunner, lo: number, hi: number) =>
    tx.query(
      `insert into ${table(source, 'contexts')} (context_id, messages, metadata, created_at, updated_at)
       select md5('c' || ?::text || g)::uuid, '[]'::jsonb,
              jsonb_build_object('title', 'Synthetic conversation ' || g, 'agent', 'synthetic_agent', 'synthetic', true),
              now() - interval '30 days' + ((g - 1)::float8 / ?::float8) * interval '30 days' - interval '1 minute',
              now() - interval '30 days' + ((g - 1)::float8 / ?::float8) * interval '30 days' - interval '1 minute'
         from generate_series(?::int, ?::int) g`,
      [salt, opts.contexts, opts.contexts, lo, hi],
    );
  const insertTasks = async (tx: SqlRunner, lo: number, hi: number) => {
    const [row] = await tx.query<{ tasks: string; feedback: string }>(tasksSql(source), [salt, salt, opts.contexts, opts.tasks, ...ASKS, ...ANSWERS, ...FAILURES, opts.tasks, lo, hi, failed, failed, failed, failed]);
    return { tasks: Number(row.tasks), feedback: Number(row.feedback) };
  };
  const total = (done: Array<{ tasks: number; feedback: number }>): Generated => ({ contexts: opts.contexts, tasks: done.reduce((a, d) => a + d.tasks, 0), feedback: done.reduce((a, d) => a + d.feedback, 0) });

  if (opts.pieces) {
    const size = opts.pieces;
    const nothing = 'nothing was generated (one transaction, rolled back)';
    return source.sql.transaction(async (tx) => {
      for (const [lo, hi] of ranges(opts.contexts, size)) {
        await checkpoint(opts.signal, nothing);
        await insertContexts(tx, lo, hi);
      }
      const done = [];
      for (const [lo, hi] of ranges(opts.tasks, size)) {
        await checkpoint(opts.signal, nothing);
        done.push(await insertTasks(tx, lo, hi));
      }
      await checkpoint(opts.signal, nothing);
      return total(done);
    });
  }

  // The backends running a transaction of ours right now: what an interrupt cancels. Each pid
  // is read inside its transaction and forgotten before that transaction ends, so it names the
  // server process doing our work even through a transaction pooler, whose server connections
  // serve other clients between our transactions.
  const running = new Set<number>();
  const cancel = () => void opts.cancel?.([...running]).catch(() => undefined);
  opts.signal?.addEventListener('abort', cancel, { once: true });
  const cancellable = <T>(work: (tx: SqlRunner) => Promise<T>) =>
    source.sql.transaction(async (tx) => {
      // The backstop: the server checks every second that we are still there, so inserts we
      // could not cancel (the process killed) stop and roll back instead of running to their end.
      await tx.query("set local client_connection_check_interval = '1s'");
      const [{ pid }] = await tx.query<{ pid: number }>(BACKEND_PID_SQL);
      running.add(pid);
      try {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        return await work(tx);
      } finally {
        running.delete(pid);
      }
    });
  let contextsCommitted = false;
  try {
    await cancellable((tx) => insertContexts(tx, 1, opts.contexts));
    contextsCommitted = true;
    const slices = Math.max(1, Math.min(opts.parallel ?? 1, Math.ceil(opts.tasks / 50_000)));
    const settled = await Promise.allSettled(ranges(opts.tasks, Math.ceil(opts.tasks / slices)).map(([lo, hi]) => cancellable((tx) => insertTasks(tx, lo, hi))));
    // Every slice has ended (committed, failed or cancelled) before we return: none runs on.
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure) throw failure.reason;
    return total(settled.map((s) => (s as PromiseFulfilledResult<{ tasks: number; feedback: number }>).value));
  } catch (err) {
    if (opts.signal?.aborted) throw abortError(opts.signal, contextsCommitted ? 'the contexts, and the slices of tasks that had committed, stay (see seed generate --help)' : 'nothing was generated');
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
  }
}

/**
 * Fresh planner statistics and visibility map after a bulk load, so the new rows get index(-only)
 * scans. Interrupted, it stops between tables: what was loaded stays, only less well planned.
 */
export async function analyzeInspectionTables(source: Source, signal?: AbortSignal): Promise<void> {
  const { tasks, contexts, feedback } = source.layout;
  for (const t of [tasks.table, contexts.table, feedback.table]) {
    await checkpoint(signal, 'the generated rows had committed and stay; only the statistics refresh after them was cut short');
    await source.sql.query(`vacuum analyze ${table(source, t)}`);
  }
}
