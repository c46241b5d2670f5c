import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import type { Source } from '../../src/db/inspect/source.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { listTasks, showTask, sourceFor } from '../../src/core/inspect.js';
import * as prune from '../../src/core/retention/prune.js';
import * as fail from '../../src/core/retention/fail.js';
import { listStuckTasks } from '../../src/core/retention/stuck.js';
import { UsageError } from '../../src/errors.js';
import { AGENT_SCHEMAS, createAllSchemaDdl, serverSchemaRows } from '../fixtures/serverLayout.js';
import { databasesOfFile } from '../helpers/db.js';

// Retention on the three kinds of database operators have: our layout on PostgreSQL, a schema
// as Bindu's own server writes it, and the embedded database. Each fixture knows which of its
// tasks are finished and old (the only ones a prune may delete) and which are live and old.

const SECRETS = ['wh-secret-token-456', 'abc-secret-in-url-123', 'Bearer xyz-secret-789'];
const WEBHOOK = { url: 'https://hooks.example.com/x?token=abc-secret-in-url-123', token: 'wh-secret-token-456', headers: { authorization: 'Bearer xyz-secret-789' } };

interface Fixture {
  db: Database;
  source: Source;
  /** Finished tasks updated before `olderThan`: what a prune deletes. */
  prunable: string[];
  /** Live tasks updated before `olderThan`: stuck. */
  stuckIds: string[];
  /** Every task id. */
  all: string[];
  olderThan: string;
  expected: { tasks: number; task_feedback: number; webhook_configs: number };
  /** An empty context older than the cutoff, a context with tasks, a recent empty context. */
  contexts: { oldEmpty: string; busy: string; recentEmpty: string };
  /** The SQL (our `?` placeholders) reading rows of the fixture's tables, for comparisons. */
  q: <R = Record<string, unknown>>(sql: string, bindings?: unknown[]) => Promise<R[]>;
  t: { tasks: string; feedback: string; webhooks: string; contexts: string; id: string; status: string };
  /** For a second session (PostgreSQL only). */
  url?: string;
  schema: string;
}

const files = databasesOfFile('retention');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-retention-'));
afterAll(async () => {
  await files.dropAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const id = (prefix: string, n: number) => `${prefix}000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** Our layout: old and recent tasks in every status, feedback, webhooks (one with secrets). */
async function fillOurs(db: Database): Promise<Omit<Fixture, 'db' | 'source' | 'q' | 't' | 'schema'>> {
  const q = (sql: string, b: unknown[] = []) => db.sql.query(sql, b);
  const s = `"${db.schema}"`;
  const ctx = { busy: id('c1', 1), oldEmpty: id('c1', 2), recentEmpty: id('c1', 3) };
  await q(`insert into ${s}.contexts (context_id, created_at, updated_at) values (?, now() - interval '20 days', now() - interval '20 days'), (?, now() - interval '20 days', now() - interval '15 days'), (?, now() - interval '20 days', now() - interval '1 hour')`, [ctx.busy, ctx.oldEmpty, ctx.recentEmpty]);
  const old = ['completed', 'completed', 'completed', 'completed', 'completed', 'completed', 'failed', 'failed', 'failed'];
  const oldLive = ['pending', 'pending', 'running', 'running', 'input_required'];
  const recent = ['completed', 'completed', 'failed'];
  const rows: Array<[string, string, number]> = [
    ...old.map((st, i) => [id('a1', i + 1), st, 10] as [string, string, number]),
    ...oldLive.map((st, i) => [id('b1', i + 1), st, 10] as [string, string, number]),
    ...recent.map((st, i) => [id('d1', i + 1), st, 0] as [string, string, number]),
  ];
  for (const [i, [task, status, days]] of rows.entries()) {
    const history = JSON.stringify([{ kind: 'message', role: 'user', message_id: `${task}-m0`, context_id: ctx.busy, task_id: task, parts: [{ kind: 'text', text: `please do ${i}` }] }]);
    // Created in list order, a minute apart; updated a minute after creation.
    const created = `now() - make_interval(days => ?::int, mins => ?::int)`;
    await q(`insert into ${s}.tasks (task_id, context_id, status, history, artifacts, created_at, updated_at)
             values (?, ?, ?, ?::jsonb, ?::jsonb, ${created}, ${created} + interval '1 minute')`,
      [task, ctx.busy, status, history, JSON.stringify(status === 'completed' ? { answer: `done ${i}` } : {}), days, 100 - i, days, 100 - i]);
  }
  await q(`insert into ${s}.task_feedback (task_id, feedback, rating) values (?, 'good', 5), (?, 'meh', 3), (?, 'broken', 1), (?, 'fine', 4)`, [id('a1', 1), id('a1', 1), id('a1', 7), id('d1', 1)]);
  await q(`insert into ${s}.webhook_configs (task_id, config) values (?, ?::jsonb), (?, ?::jsonb)`, [id('a1', 2), JSON.stringify(WEBHOOK), id('b1', 3), JSON.stringify({ url: 'https://hooks.example.com/live' })]);
  return {
    prunable: old.map((_, i) => id('a1', i + 1)),
    stuckIds: oldLive.map((_, i) => id('b1', i + 1)),
    all: rows.map((r) => r[0]),
    olderThan: '7d',
    expected: { tasks: 9, task_feedback: 3, webhook_configs: 1 },
    contexts: ctx,
  };
}

/** A Bindu server agent schema, as the server's own code writes it (fixture rows, every state). */
async function fillServer(db: Database): Promise<Omit<Fixture, 'db' | 'source' | 'q' | 't' | 'schema'>> {
  const schema = db.schema;
  for (const row of serverSchemaRows(schema, { ownerDid: true, prefix: 'aa' })) await db.sql.query(row.sql, row.params);
  const task = (n: number) => `aa000000-0000-4000-8000-00000000000${n}`;
  // States by age (fixture): submitted 1h, working 2h, input-required 3h, auth-required 4h,
  // completed 5h, failed 6h, canceled 7h, rejected 8h; a silent failure 5 min ago.
  await db.sql.query(`insert into "${schema}".webhook_configs (task_id, config) values (?, ?::jsonb)`, [task(5), JSON.stringify(WEBHOOK)]);
  const c = { busy: 'aa000000-0000-4000-8000-000000000000', oldEmpty: id('ce', 1), recentEmpty: id('ce', 2) };
  await db.sql.query(`insert into "${schema}".contexts (id, context_data, created_at, updated_at) values (?, '{}', now() - interval '2 days', now() - interval '1 day'), (?, '{}', now() - interval '2 days', now())`, [c.oldEmpty, c.recentEmpty]);
  return {
    prunable: [task(5), task(6), task(7), task(8)],
    stuckIds: [task(3), task(4)],
    all: [1, 2, 3, 4, 5, 6, 7, 8].map(task).concat('aa000000-0000-4000-8000-0000000000f1'),
    olderThan: '150m',
    expected: { tasks: 4, task_feedback: 2, webhook_configs: 1 },
    contexts: c,
  };
}

const targets: Array<{ name: string; open(): Promise<{ db: Database; url?: string }>; fill: typeof fillOurs; server: boolean }> = [
  {
    name: 'PostgreSQL, bindu-db layout',
    server: false,
    fill: fillOurs,
    open: async () => {
      const { url } = await files.create();
      const db = await openDatabase(loadConfig({ url }, {}));
      await up(db, readMigrations(), { lockTimeoutSeconds: 10 });
      return { db, url };
    },
  },
  {
    name: 'PostgreSQL, Bindu server layout',
    server: true,
    fill: fillServer,
    open: async () => {
      const { url } = await files.create();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      for (const sql of createAllSchemaDdl(AGENT_SCHEMAS.echo, { ownerDid: true })) await admin.query(sql);
      await admin.end();
      return { db: await openDatabase(loadConfig({ url, schema: AGENT_SCHEMAS.echo }, {})), url };
    },
  },
  {
    name: 'embedded, bindu-db layout',
    server: false,
    fill: fillOurs,
    open: async () => {
      const db = await openDatabase(loadConfig({ dataDir: fs.mkdtempSync(path.join(tmp, 'db-')) }, {}));
      await up(db, readMigrations(), { lockTimeoutSeconds: 10 });
      return { db };
    },
  },
];

describe.each(targets)('retention on $name', (target) => {
  let f: Fixture;

  /** A fresh copy of the fixture's rows (each test changes them). */
  async function reset(): Promise<void> {
    const s = `"${f.schema}"`;
    await f.q(`truncate ${s}.${f.t.contexts}, ${s}.${f.t.tasks}, ${s}.${f.t.feedback}, ${s}.${f.t.webhooks} cascade`);
    Object.assign(f, await target.fill(f.db));
  }

  beforeAll(async () => {
    const { db, url } = await target.open();
    const filled = await target.fill(db);
    const source = await sourceFor(db);
    const t = target.server
      ? { tasks: 'tasks', feedback: 'task_feedback', webhooks: 'webhook_configs', contexts: 'contexts', id: 'id', status: 'state' }
      : { tasks: 'tasks', feedback: 'task_feedback', webhooks: 'webhook_configs', contexts: 'contexts', id: 'task_id', status: 'status' };
    f = { ...filled, db, source, url, schema: db.schema, t, q: (sql, b = []) => db.sql.query(sql, b) };
  }, 60_000);
  afterAll(() => f?.db.close());

  const taskIds = async () => (await f.q<{ id: string }>(`select ${f.t.id}::text as id from "${f.schema}".tasks order by 1`)).map((r) => r.id);
  const without = (all: string[], gone: string[]) => all.filter((x) => !gone.includes(x)).sort();

  test('only finished tasks last updated before the cutoff go; the counts include the cascading feedback and webhook rows', async () => {
    await reset();
    const plan = await prune.planTaskPrune([f.source], { olderThan: f.olderThan });
    expect(plan.total).toEqual(f.expected);
    const feedbackBefore = await f.q<{ n: number }>(`select count(*)::int as n from "${f.schema}".task_feedback`);
    const result = await prune.pruneTasks(plan, { onBatch: () => undefined });
    expect(result).toMatchObject({ deleted: f.expected, interrupted: false, skipped: 0, dry_run: false });
    expect(await taskIds()).toEqual(without(f.all, f.prunable));
    const feedbackAfter = await f.q<{ n: number }>(`select count(*)::int as n from "${f.schema}".task_feedback`);
    expect(feedbackBefore[0].n - feedbackAfter[0].n).toBe(f.expected.task_feedback);
    // Nothing is left to prune: a second run deletes nothing.
    expect((await prune.planTaskPrune([f.source], { olderThan: f.olderThan })).total.tasks).toBe(0);
  });

  test('--status narrows the prune to those finished statuses; a live status is a usage error', async () => {
    await reset();
    expect(() => prune.parseTaskPrune({ olderThan: '7d', status: 'running' })).toThrow(UsageError);
    expect(() => prune.parseTaskPrune({ olderThan: '7d', status: 'completed,input-required' })).toThrow(/live status/);
    expect(() => prune.parseTaskPrune({ olderThan: 'soon' })).toThrow(UsageError);
    expect(() => prune.parseTaskPrune({ olderThan: '2999-01-01' })).toThrow(/future/);
    const failedOnly = await f.q<{ id: string }>(`select ${f.t.id}::text as id from "${f.schema}".tasks where ${f.t.status} = 'failed' and ${f.t.id}::text = any(?::text[])`, [`{${f.prunable.join(',')}}`]);
    const plan = await prune.planTaskPrune([f.source], { olderThan: f.olderThan, status: 'failed' });
    expect(plan.total.tasks).toBe(failedOnly.length);
    await prune.pruneTasks(plan);
    expect(await taskIds()).toEqual(without(f.all, failedOnly.map((r) => r.id)));
  });

  test('the archive holds, line by line, exactly the rows that were deleted, with webhook secrets masked', async () => {
    await reset();
    const s = `"${f.schema}"`;
    const snapshot = async () => ({
      tasks: await f.q<{ id: string; row: unknown }>(`select ${f.t.id}::text as id, to_jsonb(t) as row from ${s}.tasks t where ${f.t.id}::text = any(?::text[])`, [`{${f.prunable.join(',')}}`]),
      feedback: await f.q<{ id: string; row: unknown }>(`select task_id::text as id, to_jsonb(x) as row from ${s}.task_feedback x where task_id::text = any(?::text[])`, [`{${f.prunable.join(',')}}`]),
      webhooks: await f.q<{ id: string; row: { config: unknown } }>(`select task_id::text as id, to_jsonb(x) as row from ${s}.webhook_configs x where task_id::text = any(?::text[])`, [`{${f.prunable.join(',')}}`]),
    });
    const before = await snapshot();
    const file = path.join(tmp, `${target.name.replace(/\W+/g, '-')}.jsonl.gz`);
    const plan = await prune.planTaskPrune([f.source], { olderThan: f.olderThan, archive: file, batchSize: '2' });
    const result = await prune.pruneTasks(plan);
    expect(result.batches).toBe(Math.ceil(f.expected.tasks / 2));
    // One gzip member per batch, read as one stream.
    const text = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8');
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l) as { schema: string; layout: string; task: Record<string, unknown>; feedback: unknown[]; webhook_config: { config: Record<string, unknown> } | null });
    expect(lines.map((l) => l.task[f.t.id]).sort()).toEqual([...f.prunable].sort());
    expect(new Set(lines.map((l) => l.schema))).toEqual(new Set([f.schema]));
    // Timestamps compared as instants: the archive writes them in UTC.
    const norm = (v: unknown) => JSON.parse(JSON.stringify(v), (_k, x) => (typeof x === 'string' && /^\d{4}-\d\d-\d\dT/.test(x) ? new Date(x).toISOString() : x));
    for (const line of lines) {
      const taskId = line.task[f.t.id];
      expect(norm(line.task)).toEqual(norm(before.tasks.find((r) => r.id === taskId)!.row));
      expect(norm(line.feedback).length).toBe(before.feedback.filter((r) => r.id === taskId).length);
      expect(norm(line.feedback)).toEqual(expect.arrayContaining(norm(before.feedback.filter((r) => r.id === taskId).map((r) => r.row))));
      const hook = before.webhooks.find((r) => r.id === taskId);
      if (!hook) expect(line.webhook_config).toBeNull();
      else expect(line.webhook_config?.config).toEqual({ url: 'https://hooks.example.com/x?token=***', token: '***', headers: { authorization: '***' } });
    }
    expect(await taskIds()).toEqual(without(f.all, f.prunable));
  });

  test('interrupted between batches, it stops with what it did reported; running again goes on', async () => {
    await reset();
    const controller = new AbortController();
    const plan = await prune.planTaskPrune([f.source], { olderThan: f.olderThan, batchSize: '2' });
    const first = await prune.pruneTasks(plan, { signal: controller.signal, onBatch: () => controller.abort() });
    expect(first).toMatchObject({ interrupted: true, batches: 1 });
    expect(first.deleted.tasks).toBe(2);
    expect((await taskIds()).length).toBe(f.all.length - 2);
    const again = await prune.pruneTasks(await prune.planTaskPrune([f.source], { olderThan: f.olderThan, batchSize: '2' }));
    expect(again.interrupted).toBe(false);
    expect(first.deleted.tasks + again.deleted.tasks).toBe(f.expected.tasks);
    expect(first.deleted.task_feedback + again.deleted.task_feedback).toBe(f.expected.task_feedback);
    expect(first.deleted.webhook_configs + again.deleted.webhook_configs).toBe(f.expected.webhook_configs);
    expect(await taskIds()).toEqual(without(f.all, f.prunable));
  });

  // Another session exists only on PostgreSQL: the embedded database has one connection.
  (target.name.startsWith('PostgreSQL') ? test : test.skip)('a task another session holds is skipped, not waited for, and left for the next run', async () => {
    await reset();
    const other = new pg.Client({ connectionString: f.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(`select 1 from "${f.schema}".tasks where ${f.t.id} = $1 for update`, [f.prunable[0]]);
      const result = await prune.pruneTasks(await prune.planTaskPrune([f.source], { olderThan: f.olderThan, batchSize: '2' }));
      expect(result.skipped).toBe(1);
      expect(result.deleted.tasks).toBe(f.expected.tasks - 1);
      expect(await taskIds()).toEqual(without(f.all, f.prunable.slice(1)));
    } finally {
      await other.query('rollback');
      await other.end();
    }
    expect((await prune.pruneTasks(await prune.planTaskPrune([f.source], { olderThan: f.olderThan }))).deleted.tasks).toBe(1);
  });

  test('contexts prune --empty deletes old contexts with no task, nothing else', async () => {
    await reset();
    expect(() => prune.parseContextPrune({ olderThan: '7d' })).toThrow(/--empty/);
    const plan = await prune.planContextPrune([f.source], { olderThan: target.server ? '1h' : '7d', empty: true });
    expect(plan.total).toBe(1);
    expect(await prune.pruneContexts(plan)).toMatchObject({ deleted: { contexts: 1 }, batches: 1 });
    const left = (await f.q<{ id: string }>(`select ${target.server ? 'id' : 'context_id'}::text as id from "${f.schema}".contexts`)).map((r) => r.id);
    expect(left.sort()).toEqual([f.contexts.busy, f.contexts.recentEmpty].sort());
    expect(await taskIds()).toEqual([...f.all].sort());
  });

  test('tasks stuck lists the live tasks not updated since the cutoff, with their age', async () => {
    await reset();
    const page = await listStuckTasks([f.source], { olderThan: f.olderThan });
    expect(page.items.map((t) => t.task_id).sort()).toEqual([...f.stuckIds].sort());
    expect(page.next).toBeNull();
    const minAge = target.server ? 150 * 60 : 7 * 86400;
    for (const t of page.items) expect(t.age_seconds).toBeGreaterThanOrEqual(minAge);
    const paged = await listStuckTasks([f.source], { olderThan: f.olderThan, limit: '1' });
    expect(paged.items).toHaveLength(1);
    expect(paged.next).not.toBeNull();
  });

  test('tasks fail --stuck marks them failed as the server does; tasks show gives the reason as the failure reason', async () => {
    await reset();
    const reason = 'Worker restarted: task lost; please resubmit';
    const plan = await fail.planFail([f.source], { ids: [], stuck: f.olderThan, reason, batchSize: '1' });
    expect(plan.total.to_fail).toBe(f.stuckIds.length);
    const startedAt = new Date(Date.now() - 1000);
    const result = await fail.failTasks(plan);
    expect(result).toMatchObject({ failed: f.stuckIds.length, left_alone: 0, locked: 0, batches: f.stuckIds.length });
    for (const taskId of f.stuckIds) {
      const shown = await showTask(f.db, taskId);
      expect(shown.status).toBe('failed');
      expect(shown.failure_reason).toBe(reason);
      expect(new Date(shown.updated_at).getTime()).toBeGreaterThan(startedAt.getTime());
      const last = shown.history.at(-1) as Record<string, unknown>;
      expect(last).toMatchObject({ kind: 'message', role: 'agent', task_id: taskId, parts: [{ kind: 'text', text: reason }] });
      expect(last.message_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(typeof last.context_id).toBe('string');
      if (target.server) {
        expect(shown.state).toBe('failed');
        expect(new Date(shown.state_timestamp!).getTime()).toBeGreaterThan(startedAt.getTime());
      }
    }
    expect((await listStuckTasks([f.source], { olderThan: f.olderThan })).items).toEqual([]);
  });

  // SQLAlchemy stores a Python None in a JSONB column as JSON null, and nothing in the server's
  // schema says history is an array.
  (target.server ? test : test.skip)('a failed task whose history is JSON null or an object is listed, shown and pruned', async () => {
    await reset();
    const [nullHistory, objectHistory] = [f.prunable[1], 'aa000000-0000-4000-8000-0000000000f1'];
    await f.q(`update "${f.schema}".tasks set history = 'null'::jsonb where id = ?`, [nullHistory]);
    await f.q(`update "${f.schema}".tasks set history = '{"not": "an array"}'::jsonb where id = ?`, [objectHistory]);
    const listed = await listTasks(f.db, { status: 'failed' });
    expect(listed.items.map((t) => t.task_id).sort()).toEqual([nullHistory, objectHistory].sort());
    expect(listed.items.map((t) => [t.message_count, t.failure_reason ?? null])).toEqual([[0, null], [0, null]]);
    expect((await showTask(f.db, nullHistory)).failure_reason ?? null).toBeNull();
    const plan = await prune.planTaskPrune([f.source], { olderThan: f.olderThan, archive: path.join(tmp, 'null-history.jsonl') });
    expect((await prune.pruneTasks(plan)).deleted).toEqual(f.expected);
  });

  test('tasks fail by id: a finished task is left alone and counted, an unknown one reported, one finished meanwhile untouched', async () => {
    await reset();
    const [live, finishesMeanwhile] = f.stuckIds;
    const finished = f.prunable[0];
    const unknown = id('ff', 9);
    const plan = await fail.planFail([f.source], { ids: [live, finishesMeanwhile, finished, unknown] });
    expect(plan.total).toEqual({ to_fail: 2, finished: 1, not_found: 1 });
    // The server finishes one task between the count and the batch.
    await f.q(`update "${f.schema}".tasks set ${f.t.status} = 'completed' where ${f.t.id} = ?`, [finishesMeanwhile]);
    const historyBefore = (await showTask(f.db, finishesMeanwhile)).history;
    const result = await fail.failTasks(plan);
    expect(result).toMatchObject({ failed: 1, left_alone: 2, not_found: 1, locked: 0 });
    expect((await showTask(f.db, live)).failure_reason).toMatch(/marked failed by an operator/);
    const untouched = await showTask(f.db, finishesMeanwhile);
    expect(untouched.status).toBe('completed');
    expect(untouched.history).toEqual(historyBefore);
    expect((await showTask(f.db, finished)).history.some((m) => (m as { parts?: Array<{ text?: string }> }).parts?.[0]?.text?.includes('operator'))).toBe(false);
    expect(() => fail.parseFail({ ids: [live], stuck: '1h' })).toThrow(UsageError);
    expect(() => fail.parseFail({ ids: [] })).toThrow(UsageError);
    expect(() => fail.parseFail({ ids: ['not-a-uuid'] })).toThrow(/not a UUID/);
  });
});
