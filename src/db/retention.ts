import { utcTimestampSql } from './timestamps.js';
import { ident } from '../lib/sqlIdent.js';
import { col } from './layouts/layout.js';
import { type Source, type Statement, Where, num, placeholders, rowsOf, table } from './inspect/source.js';
import type { SqlRunner } from './sqlRunner.js';

// Retention and recovery: the SQL that deletes old tasks and empty contexts and marks stuck
// tasks failed. Every batch is one short transaction that locks its rows with
// FOR UPDATE SKIP LOCKED, so a server writing the same tables waits for at most one batch, and
// a row it holds is skipped (left for the next run) instead of waited for.

/** Rows a task takes with it when deleted (the foreign keys cascade), or that a prune deleted. */
export interface PruneCounts {
  tasks: number;
  task_feedback: number;
  webhook_configs: number;
}

/** Which tasks go: stored statuses (terminal ones only) last updated before `before`. */
export interface PruneCriteria {
  stored: string[];
  before: Date;
}

/** Where the previous batch ended: (created_at as microsecond UTC text, id). */
export interface BatchKey {
  ts: string;
  id: string;
}

/**
 * A list of UUIDs as one bound value: the text of a Postgres array, cast in SQL (both drivers
 * bind it as plain text). `= any(...)` of it is an index scan the planner sizes right.
 */
const anyIds = 'any(?::uuid[])';
const uuidArray = (ids: readonly string[]): string => `{${ids.join(',')}}`;

/**
 * Tasks of `stored` statuses not updated since `before`, on alias t. A task is updated no
 * earlier than it is created, so `created_at < before` holds for every one of them: it bounds
 * the walk along the created_at index that the batches take (both layouts index created_at).
 */
function staleTaskWhere(source: Source, stored: string[], before: Date): Where {
  const T = source.layout.tasks;
  return new Where()
    .add(`${col('t', T.status)} in (${placeholders(stored)})`, ...stored)
    .add(`${col('t', T.updatedAt)} < ?`, before)
    .add(`${col('t', T.createdAt)} < ?`, before);
}

/** The batch's keyset condition and order: created_at, then id, strictly after the last batch. */
function walkAfter(source: Source, w: Where, after: BatchKey | undefined): string {
  const T = source.layout.tasks;
  if (after) w.add(`${col('t', T.createdAt)} >= ?::timestamptz and (${col('t', T.createdAt)}, ${col('t', T.id)}) > (?::timestamptz, ?::uuid)`, after.ts, after.ts, after.id);
  return `order by ${col('t', T.createdAt)}, ${col('t', T.id)}`;
}

/** What the batch took, and where the next one starts. */
interface LockedRow {
  id: string;
  ts: string;
}

function lastKey(rows: LockedRow[]): BatchKey | undefined {
  const last = rows.at(-1);
  return last ? { ts: last.ts, id: last.id } : undefined;
}

/**
 * A count over whole tables, run on one core: with parallel workers it takes every core of a
 * small server from the live service while it runs (the writer's p99 in bench/prune.bench.ts).
 */
async function countGently<T>(source: Source, st: Statement): Promise<T[]> {
  return source.sql.transaction(async (tx) => {
    await tx.query('set local max_parallel_workers_per_gather = 0');
    return tx.query<T>(st.sql, st.bindings);
  });
}

/** How many tasks a prune would delete, with the feedback and webhook rows that go with them: one pass over each table. */
export async function countPrunableTasks(source: Source, c: PruneCriteria): Promise<PruneCounts> {
  const { tasks: T, feedback: F, webhooks: W } = source.layout;
  const w = staleTaskWhere(source, c.stored, c.before);
  const [row] = await countGently<Record<keyof PruneCounts, unknown>>(source, {
    sql: `select count(*) as tasks, coalesce(sum(f.n), 0) as task_feedback, ${W ? `count(${col('w', W.taskId)})` : '0'} as webhook_configs
            from ${table(source, T.table)} t
            left join (select ${col('f', F.taskId)} as task_id, count(*) as n from ${table(source, F.table)} f group by 1) f on f.task_id = ${col('t', T.id)}
            ${W ? `left join ${table(source, W.table)} w on ${col('w', W.taskId)} = ${col('t', T.id)}` : ''}
           ${w}`,
    bindings: w.bindings,
  });
  return { tasks: num(row.tasks), task_feedback: num(row.task_feedback), webhook_configs: num(row.webhook_configs) };
}

/** One task's archive document's parts, as the database stores them (JSON text). */
export interface ArchivedTask {
  id: string;
  /** The task row, every column. */
  task: string;
  /** Its feedback rows, a JSON array. */
  feedback: string;
  /** Its webhook config row, parsed (secrets are masked by the caller), or null. */
  webhook: Record<string, unknown> | null;
}

export interface PruneBatchOptions {
  after?: BatchKey;
  limit: number;
  /** Called with the batch's tasks before they are deleted; the delete commits only once it resolves. */
  archive?: (tasks: ArchivedTask[]) => Promise<void>;
}

/** Deletes one batch of prunable tasks in one transaction; `last` is undefined when none was left. */
export async function pruneTaskBatch(source: Source, c: PruneCriteria, opts: PruneBatchOptions): Promise<{ deleted: PruneCounts; last?: BatchKey }> {
  return opts.archive ? archiveAndPruneBatch(source, c, { ...opts, archive: opts.archive }) : pruneBatchAtOnce(source, c, opts);
}

/** The rows of a batch: the prunable tasks after `after`, locked, skipping those another session holds. */
function lockBatchSql(source: Source, c: PruneCriteria, opts: PruneBatchOptions, extra = ''): { sql: string; bindings: unknown[] } {
  const T = source.layout.tasks;
  const w = staleTaskWhere(source, c.stored, c.before);
  const order = walkAfter(source, w, opts.after);
  return {
    sql: `select ${col('t', T.id)} as id, ${utcTimestampSql(col('t', T.createdAt))} as ts${extra}
            from ${table(source, T.table)} t ${w} ${order} limit ? for update of t skip locked`,
    bindings: [...w.bindings, opts.limit],
  };
}

/**
 * The deletes of a batch: its feedback and webhook rows (deleted here rather than by the
 * cascade, which then finds none: the same work, and the counts come from what was deleted),
 * then its tasks. `ids` completes each `where <task id>` with the batch: `= any(?)` or `= any(array(subquery))` (an index scan either way).
 */
function deleteBatchSql(source: Source, ids: string): string {
  const { tasks: T, feedback: F, webhooks: W } = source.layout;
  return `fb as (delete from ${table(source, F.table)} f where ${col('f', F.taskId)} ${ids} returning 1),
    ${W ? `wh as (delete from ${table(source, W.table)} w where ${col('w', W.taskId)} ${ids} returning 1),` : ''}
    del as (delete from ${table(source, T.table)} t where ${col('t', T.id)} ${ids} returning 1)`;
}

const countsSql = (source: Source) =>
  `(select count(*) from del) as tasks, (select count(*) from fb) as task_feedback, ${source.layout.webhooks ? '(select count(*) from wh)' : '0'} as webhook_configs`;

const countsOf = (row: Record<keyof PruneCounts, unknown>): PruneCounts => ({ tasks: num(row.tasks), task_feedback: num(row.task_feedback), webhook_configs: num(row.webhook_configs) });

/**
 * Locks and deletes a batch in one statement, its own transaction: one round trip, which is
 * most of a batch's cost on a busy server. Feedback a session commits for one of the tasks while
 * the statement runs, after its snapshot and before the lock, still goes (the cascade takes it)
 * but is not counted.
 */
async function pruneBatchAtOnce(source: Source, c: PruneCriteria, opts: PruneBatchOptions): Promise<{ deleted: PruneCounts; last?: BatchKey }> {
  const lock = lockBatchSql(source, c, opts);
  const [row] = await rowsOf<Record<keyof PruneCounts, unknown> & { last_ts: string | null; last_id: string | null }>(source, {
    sql: `with v as materialized (${lock.sql}),
            ${deleteBatchSql(source, '= any(array(select id from v))')}
          select ${countsSql(source)},
                 (select ts from v order by ts desc, id desc limit 1) as last_ts, (select id::text from v order by ts desc, id desc limit 1) as last_id`,
    bindings: lock.bindings,
  });
  return { deleted: countsOf(row), last: row.last_id && row.last_ts ? { ts: row.last_ts, id: row.last_id } : undefined };
}

/**
 * With an archive: lock the batch, read its feedback and webhook rows once the tasks are locked
 * (none can be added until commit, so the archive holds exactly what goes), hand them to the
 * archive, and delete only once it is written.
 */
async function archiveAndPruneBatch(source: Source, c: PruneCriteria, opts: PruneBatchOptions & Required<Pick<PruneBatchOptions, 'archive'>>): Promise<{ deleted: PruneCounts; last?: BatchKey }> {
  return source.sql.transaction(async (tx) => {
    // The archive keeps timestamps as the database has them, in UTC.
    await tx.query(`set local timezone = 'UTC'`);
    const lock = lockBatchSql(source, c, opts, ', row_to_json(t)::text as task');
    const locked = (await tx.query<LockedRow & { task: string }>(lock.sql, lock.bindings)).map((r) => ({ ...r, id: String(r.id) }));
    const last = lastKey(locked);
    if (!last) return { deleted: { tasks: 0, task_feedback: 0, webhook_configs: 0 } };
    const ids = uuidArray(locked.map((r) => r.id));
    await opts.archive(await relatedRows(tx, source, locked, ids));
    const W = source.layout.webhooks;
    const [row] = await tx.query<Record<keyof PruneCounts, unknown>>(`with ${deleteBatchSql(source, `= ${anyIds}`)} select ${countsSql(source)}`, [ids, ...(W ? [ids] : []), ids]);
    return { deleted: countsOf(row), last };
  });
}

async function relatedRows(tx: SqlRunner, source: Source, locked: Array<LockedRow & { task: string }>, ids: string): Promise<ArchivedTask[]> {
  const { feedback: F, webhooks: W } = source.layout;
  const feedback = await tx.query<{ id: string; rows: string }>(
    `select ${col('f', F.taskId)}::text as id, jsonb_agg(f order by ${col('f', F.createdAt)}, ${col('f', F.id)})::text as rows
       from ${table(source, F.table)} f where ${col('f', F.taskId)} = ${anyIds} group by 1`,
    [ids],
  );
  const webhooks = W
    ? await tx.query<{ id: string; row: Record<string, unknown> }>(
        `select ${col('w', W.taskId)}::text as id, to_jsonb(w) as row from ${table(source, W.table)} w where ${col('w', W.taskId)} = ${anyIds}`,
        [ids],
      )
    : [];
  const fb = new Map(feedback.map((r) => [r.id, r.rows]));
  const wh = new Map(webhooks.map((r) => [r.id, r.row]));
  return locked.map((r) => ({ id: r.id, task: r.task, feedback: fb.get(r.id) ?? '[]', webhook: wh.get(r.id) ?? null }));
}

/** Contexts holding no task, not updated since `before`, on alias c. */
function emptyContextWhere(source: Source, before: Date): Where {
  const { contexts: C, tasks: T } = source.layout;
  return new Where()
    .add(`${col('c', C.updatedAt)} < ?`, before)
    .add(`not exists (select 1 from ${table(source, T.table)} t where ${col('t', T.contextId)} = ${col('c', C.id)})`);
}

export async function countEmptyContexts(source: Source, before: Date): Promise<number> {
  const w = emptyContextWhere(source, before);
  const [row] = await countGently<{ n: unknown }>(source, { sql: `select count(*) as n from ${table(source, source.layout.contexts.table)} c ${w}`, bindings: w.bindings });
  return num(row.n);
}

/**
 * Deletes one batch of empty contexts. Contexts are walked by primary key (the server's
 * contexts have no other index). The delete checks for tasks again in its own snapshot: a task
 * committed after the lock query began would otherwise go with its context; a task inserted
 * after the lock waits for it (and then fails its foreign key, never losing data).
 */
export async function pruneContextBatch(source: Source, before: Date, opts: { after?: string; limit: number }): Promise<{ deleted: number; last?: string }> {
  const C = source.layout.contexts;
  return source.sql.transaction(async (tx) => {
    const w = emptyContextWhere(source, before);
    if (opts.after) w.add(`${col('c', C.id)} > ?::uuid`, opts.after);
    const locked = await tx.query<{ id: string }>(
      `select ${col('c', C.id)}::text as id from ${table(source, C.table)} c ${w} order by ${col('c', C.id)} limit ? for update of c skip locked`,
      [...w.bindings, opts.limit],
    );
    const last = locked.at(-1)?.id;
    if (!last) return { deleted: 0 };
    const again = emptyContextWhere(source, before);
    const [row] = await tx.query<{ n: unknown }>(
      `with del as (delete from ${table(source, C.table)} c ${again} and ${col('c', C.id)} = ${anyIds} returning 1) select count(*) as n from del`,
      [...again.bindings, uuidArray(locked.map((r) => r.id))],
    );
    return { deleted: num(row.n), last };
  });
}

/** Live tasks (`stored` statuses) not updated since `before`, if given. */
export interface FailCriteria {
  stored: string[];
  before?: Date;
}

function failWhere(source: Source, c: FailCriteria): Where {
  const T = source.layout.tasks;
  if (c.before) return staleTaskWhere(source, c.stored, c.before);
  return new Where().add(`${col('t', T.status)} in (${placeholders(c.stored)})`, ...c.stored);
}

export async function countStaleTasks(source: Source, c: FailCriteria): Promise<number> {
  const w = failWhere(source, c);
  const [row] = await countGently<{ n: unknown }>(source, { sql: `select count(*) as n from ${table(source, source.layout.tasks.table)} t ${w}`, bindings: w.bindings });
  return num(row.n);
}

/** The stored statuses of these tasks (absent ids are missing from the map). */
export async function taskStatuses(source: Source, ids: string[]): Promise<Map<string, string>> {
  const T = source.layout.tasks;
  const rows = await rowsOf<{ id: string; status: string }>(source, {
    sql: `select ${col('t', T.id)}::text as id, ${col('t', T.status)}::text as status from ${table(source, T.table)} t where ${col('t', T.id)} = ${anyIds}`,
    bindings: [uuidArray(ids)],
  });
  return new Map(rows.map((r) => [r.id, r.status]));
}

/** The next `limit` stale tasks after `after`, read without locking (failTasks locks and re-checks). */
export async function nextStaleTasks(source: Source, c: FailCriteria & { before: Date }, opts: { after?: BatchKey; limit: number }): Promise<{ ids: string[]; last?: BatchKey }> {
  const T = source.layout.tasks;
  const w = failWhere(source, c);
  const order = walkAfter(source, w, opts.after);
  const rows = await rowsOf<LockedRow>(source, {
    sql: `select ${col('t', T.id)}::text as id, ${utcTimestampSql(col('t', T.createdAt))} as ts from ${table(source, T.table)} t ${w} ${order} limit ?`,
    bindings: [...w.bindings, opts.limit],
  });
  return { ids: rows.map((r) => r.id), last: lastKey(rows) };
}

export interface FailBatchResult {
  /** Marked failed. */
  failed: number;
  /** Held by another session: skipped, still live. */
  locked: number;
  /** No longer matching (finished, or updated since) or gone: left alone. */
  leftAlone: number;
}

/**
 * Marks failed, in one transaction, those of `ids` that still match `c` once locked, the way
 * Bindu's server fails a task: the failed status (and state_timestamp where the layout has
 * one), updated_at, and an A2A agent message carrying `reason` appended to the history, which
 * is what lists and `tasks show` read as the failure reason.
 */
export async function failTasks(source: Source, ids: string[], c: FailCriteria, reason: string): Promise<FailBatchResult> {
  const T = source.layout.tasks;
  const [failedState] = source.layout.storedStatuses('failed');
  const json = uuidArray(ids);
  const failed = await source.sql.transaction(async (tx) => {
    const w = failWhere(source, c).add(`${col('t', T.id)} = ${anyIds}`, json);
    const locked = await tx.query<{ id: string }>(`select ${col('t', T.id)}::text as id from ${table(source, T.table)} t ${w} for update of t skip locked`, w.bindings);
    if (locked.length === 0) return 0;
    const now = 'now()';
    const message = `jsonb_build_object('kind', 'message', 'role', 'agent', 'message_id', gen_random_uuid()::text,
        'task_id', ${col('t', T.id)}::text, 'context_id', ${col('t', T.contextId)}::text,
        'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', ?::text)),
        'metadata', jsonb_build_object('timestamp', ${utcTimestampSql(now)}))`;
    const history = col('t', T.history);
    const rows = await tx.query<{ n: unknown }>(
      `with upd as (
         update ${table(source, T.table)} t
            set ${ident(T.status)} = ?, ${T.stateTimestamp ? `${ident(T.stateTimestamp)} = ${now}, ` : ''}${ident(T.updatedAt)} = ${now},
                ${ident(T.history)} = (case when jsonb_typeof(${history}) = 'array' then ${history} else '[]'::jsonb end) || jsonb_build_array(${message})
          where ${col('t', T.id)} = ${anyIds} returning 1)
       select count(*) as n from upd`,
      [failedState, reason, uuidArray(locked.map((r) => r.id))],
    );
    return num(rows[0].n);
  });
  // What was not locked: still matching means another session holds it; otherwise it moved on.
  const stillMatching = failed === ids.length ? 0 : await countMatching(source, ids, c);
  return { failed, locked: stillMatching, leftAlone: ids.length - failed - stillMatching };
}

async function countMatching(source: Source, ids: string[], c: FailCriteria): Promise<number> {
  const T = source.layout.tasks;
  const w = failWhere(source, c).add(`${col('t', T.id)} = ${anyIds}`, uuidArray(ids));
  const [row] = await rowsOf<{ n: unknown }>(source, { sql: `select count(*) as n from ${table(source, T.table)} t ${w}`, bindings: w.bindings });
  return num(row.n);
}
