import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { runSeeds, seedFiles } from '../../src/core/seeds.js';
import * as inspect from '../../src/core/inspect.js';
import * as repo from '../../src/db/inspect/index.js';
import type { Page } from '../../src/db/types.js';
import { BinduError, OperationError, RefusedError, UsageError } from '../../src/errors.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { pooledUrl } from '../helpers/pooler.js';
import { scans } from '../helpers/plans.js';

// The same behaviour on a real PostgreSQL 15 and on the embedded database (PGlite):
// filters, keyset pagination (every row exactly once), shapes, masking, bad input, injection.

interface Target {
  name: 'postgres' | 'embedded';
  tasks: number;
  contexts: number;
  /** `db` reads; `direct` (when it differs) is where migrations run. */
  open(): Promise<{ db: Database; direct?: Database; cleanup: () => Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'postgres',
    tasks: 20_000, // enough rows for the planner to prefer the indexes on real statistics
    contexts: 2_000,
    // Reads through PgBouncer in transaction mode, as on a managed host; migrations go direct.
    open: async () => {
      const t = await createTestDatabase('inspect');
      const config = loadConfig({ url: pooledUrl(t.url), directUrl: t.url }, {});
      const db = await openDatabase(config);
      expect(db.pooler).toEqual({ name: 'PgBouncer' });
      const direct = await openDatabase(config, { session: 'migrate up' });
      return { db, direct, cleanup: async () => (await Promise.all([db.close(), direct.close()]), await dropTestDatabase(t.name)) };
    },
  },
  {
    name: 'embedded',
    tasks: 2_000,
    contexts: 200,
    open: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-db-inspect-'));
      const db = await openDatabase(loadConfig({ dataDir: path.join(dir, 'db') }, {}));
      return { db, cleanup: async () => (await db.close(), fs.rmSync(dir, { recursive: true, force: true })) };
    },
  },
];

const TIE_CONTEXT = 'dddddddd-0000-0000-0000-000000000000';
// Five tasks created in the same microsecond: the keyset must order them by id and not lose one.
const TIE_TASKS = [1, 2, 3, 4, 5].map((i) => `eeeeeeee-0000-0000-0000-00000000000${i}`);

const expectUsage = async (p: Promise<unknown>, pattern: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect(`${(err as BinduError).message} ${(err as BinduError).hint ?? ''}`).toMatch(pattern);
  expect((err as BinduError).exitCode).toBe(2);
};

describe.each(targets)('inspection on $name', (target) => {
  let db: Database;
  let cleanup: () => Promise<void>;
  const sql = <R = Record<string, unknown>>(text: string, bindings: unknown[] = []) => db.sql.query<R>(text, bindings);
  const ids = async (text: string, bindings: unknown[] = []) => (await sql<{ id: string }>(text, bindings)).map((r) => r.id);

  /** Every item of a paged list, following `next` until it is null. */
  async function all<T>(fetch: (after?: string) => Promise<Page<T>>): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await fetch(after);
      items.push(...page.items);
      if (page.next !== null && page.next === after) throw new Error('pagination repeats a page');
      after = page.next ?? undefined;
      pages++;
      if (items.length > 100_000) throw new Error('pagination does not end');
    } while (after);
    return { items, pages };
  }

  beforeAll(async () => {
    let direct: Database | undefined;
    ({ db, direct, cleanup } = await target.open());
    const config = loadConfig({}, {});
    await up(direct ?? db, readMigrations(), { lockTimeoutSeconds: 10 });
    await runSeeds(db, config.seedsDir, seedFiles(config.seedsDir));
    await expect(inspect.generateData(db, { tasks: 10, yes: false })).rejects.toBeInstanceOf(RefusedError);
    const made = await inspect.generateData(db, { tasks: target.tasks, contexts: target.contexts, yes: true });
    expect(made.tasks).toBe(target.tasks);
    await sql(`insert into contexts (context_id) values (?)`, [TIE_CONTEXT]);
    for (const id of TIE_TASKS) {
      await sql(`insert into tasks (task_id, context_id, status, created_at) values (?, ?, 'failed', '2025-01-01T00:00:00.123456Z')`, [id, TIE_CONTEXT]);
    }
  }, 180_000);
  afterAll(async () => cleanup?.());

  test('tasks list pages through every task exactly once, newest first', async () => {
    const { items, pages } = await all((after) => inspect.listTasks(db, { limit: '997', after }));
    const expected = await ids('select task_id as id from tasks order by created_at desc, task_id desc');
    expect(items.map((t) => t.task_id)).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 997));
    expect(new Set(items.map((t) => t.task_id)).size).toBe(items.length);
  });

  test('several statuses, paged in small pages, match SQL exactly (ties in one microsecond included)', async () => {
    const { items } = await all((after) => inspect.listTasks(db, { status: 'failed,input_required', limit: '13', after }));
    expect(items.map((t) => t.task_id)).toEqual(await ids(`select task_id as id from tasks where status in ('failed', 'input_required') order by created_at desc, task_id desc`));
    const ties = await all((after) => inspect.listTasks(db, { context: TIE_CONTEXT, limit: '2', after }));
    expect(ties.items.map((t) => t.task_id)).toEqual([...TIE_TASKS].reverse());
  });

  test('filters combine: status, context, since and until', async () => {
    const [{ context_id }] = await sql<{ context_id: string }>(`select context_id from tasks where status = 'completed' group by context_id order by count(*) desc limit 1`);
    const since = new Date(Date.now() - 10 * 86400e3);
    const until = new Date(Date.now() - 2 * 86400e3);
    const cases: Array<[inspect.TaskListInput, string, unknown[]]> = [
      [{ status: 'completed' }, `status = 'completed'`, []],
      [{ context: context_id }, 'context_id = ?', [context_id]],
      [{ context: context_id.toUpperCase(), status: 'completed,failed' }, `context_id = ? and status in ('completed', 'failed')`, [context_id]],
      [{ since: since.toISOString() }, 'created_at >= ?', [since]],
      [{ since: since.toISOString(), until: until.toISOString(), status: 'running' }, `created_at >= ? and created_at < ? and status = 'running'`, [since, until]],
      [{ since: '3d', status: 'pending' }, `created_at >= now() - interval '3 days' and status = 'pending'`, []],
    ];
    for (const [input, where, bindings] of cases) {
      const { items } = await all((after) => inspect.listTasks(db, { ...input, limit: '50', after }));
      const expected = await ids(`select task_id as id from tasks where ${where} order by created_at desc, task_id desc`, bindings);
      expect({ input, ids: items.map((t) => t.task_id) }).toEqual({ input, ids: expected });
      expect(expected.length).toBeGreaterThan(0);
    }
  });

  test('list items: columns without large JSON, message count, failure reason of failed tasks', async () => {
    const page = await inspect.listTasks(db, { status: 'failed,completed', limit: '200' });
    const counts = new Map((await sql<{ id: string; n: number }>('select task_id as id, jsonb_array_length(history) as n from tasks')).map((r) => [r.id, Number(r.n)]));
    for (const t of page.items) {
      expect(Object.keys(t).sort()).toEqual(['context_id', 'created_at', 'failure_reason', 'message_count', 'status', 'task_id', 'updated_at']);
      expect(t.message_count).toBe(counts.get(t.task_id));
      if (t.status === 'failed' && t.message_count > 0) expect(t.failure_reason).toMatch(/^Task execution failed: /);
      if (t.status !== 'failed') expect(t.failure_reason).toBeNull();
    }
    const seeded = await inspect.listTasks(db, { context: '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b03', status: 'failed' });
    expect(seeded.items.map((t) => t.failure_reason)).toEqual(['Task execution failed: TimeoutError: the upstream agent did not answer within 300 s']);
  });

  test('tasks show: every field, feedback, webhook config with the token masked', async () => {
    const task = await inspect.showTask(db, 'c0ffee00-0000-4000-8000-000000000006');
    expect(task.webhook_config?.config).toEqual({ id: 'wh-7f3a', url: 'https://hooks.example.com/bindu/notify', token: '***', authentication: { schemes: ['Bearer'] } });
    expect(JSON.stringify(task)).not.toContain('whsec_');
    const rated = await inspect.showTask(db, 'C0FFEE00-0000-4000-8000-000000000001');
    expect(rated.history).toHaveLength(2);
    expect(rated.feedback.map((f) => f.rating)).toEqual([5]);
    expect(rated.webhook_config).toBeNull();
    const missing = await inspect.showTask(db, 'c0ffee00-0000-0000-0000-00000000ffff').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OperationError);
    expect((missing as OperationError).message).toBe('task c0ffee00-0000-0000-0000-00000000ffff not found');
    expect((missing as OperationError).exitCode).toBe(1);
  });

  test('contexts list pages through every context once, with task counts; show lists its tasks', async () => {
    const { items } = await all((after) => inspect.listContexts(db, { limit: '29', after }));
    const expected = await sql<{ id: string; n: string }>('select c.context_id as id, (select count(*) from tasks t where t.context_id = c.context_id) as n from contexts c order by c.created_at desc, c.context_id desc');
    expect(items.map((c) => [c.context_id, c.task_count])).toEqual(expected.map((r) => [r.id, Number(r.n)]));
    expect(items.every((c) => !('messages' in c) && c.last_activity_at >= c.updated_at)).toBe(true);
    const shown = await inspect.showContext(db, TIE_CONTEXT);
    expect(shown.tasks.map((t) => t.task_id)).toEqual([...TIE_TASKS].reverse());
    expect(shown.tasks_next).toBeNull();
  });

  test('feedback list: rating, min rating, task and since filters, paged', async () => {
    for (const [input, where] of [
      [{ minRating: '4' }, 'rating >= 4'],
      [{ rating: '1' }, 'rating = 1'],
      [{ since: '20d', minRating: '2' }, `created_at >= now() - interval '20 days' and rating >= 2`],
    ] as Array<[inspect.FeedbackListInput, string]>) {
      const { items } = await all((after) => inspect.listFeedback(db, { ...input, limit: '37', after }));
      expect(items.map((f) => f.feedback_id)).toEqual(await ids(`select feedback_id as id from task_feedback where ${where} order by created_at desc, feedback_id desc`));
      expect(items.length).toBeGreaterThan(0);
    }
    const one = await inspect.listFeedback(db, { task: 'c0ffee00-0000-4000-8000-000000000003' });
    expect(one.items.map((f) => [f.rating, f.feedback])).toEqual([[1, 'It just failed, no retry.']]);
    await expectUsage(inspect.listFeedback(db, { rating: '2', minRating: '3' }), /only one of --rating and --min-rating/);
  });

  test('stats agree with plain SQL', async () => {
    const s = await inspect.stats(db);
    const byStatus = await sql<{ status: string; n: string }>('select status::text, count(*) as n from tasks group by 1');
    expect(s.tasks_by_status).toEqual({ pending: 0, running: 0, completed: 0, failed: 0, input_required: 0, ...Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)])) });
    const total = byStatus.reduce((a, r) => a + Number(r.n), 0);
    expect(s.failure_rate).toBeCloseTo(s.tasks_by_status.failed / total, 10);
    expect(s.tasks_per_day).toHaveLength(14);
    const [recent] = await sql<{ n: string }>(`select count(*) as n from tasks where created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC' - interval '13 days'`);
    expect(s.tasks_per_day.reduce((a, d) => a + d.count, 0)).toBe(Number(recent.n));
    const [fb] = await sql<{ n: string }>('select count(*) as n from task_feedback');
    expect(s.feedback.count).toBe(Number(fb.n));
    expect(Object.values(s.feedback.by_rating).reduce((a, b) => a + b, 0)).toBe(Number(fb.n));
    expect(s.table_sizes.tasks.rows).toBe(total);
    expect(s.table_sizes.tasks.bytes).toBeGreaterThan(0);
    expect(Object.keys(s.table_sizes).sort()).toEqual(['contexts', 'task_feedback', 'tasks', 'webhook_configs']);
  });

  test('export streams every matching task with its full history, in batches', async () => {
    const lines: string[] = [];
    let batches = 0;
    const count = await inspect.exportTasks(db, {}, async (batch) => {
      batches++;
      lines.push(...batch);
    });
    const [{ n }] = await sql<{ n: string }>('select count(*) as n from tasks');
    expect(count).toBe(Number(n));
    expect(lines).toHaveLength(Number(n));
    expect(batches).toBeGreaterThan(1);
    const first = JSON.parse(lines[0]);
    expect(Object.keys(first).sort()).toEqual(['artifacts', 'context_id', 'created_at', 'history', 'status', 'task_id', 'updated_at']);
    expect(Array.isArray(first.history)).toBe(true);
    const failed: string[] = [];
    await inspect.exportTasks(db, { status: 'failed', context: TIE_CONTEXT }, async (batch) => void failed.push(...batch));
    expect(failed.map((l) => JSON.parse(l).task_id).sort()).toEqual(TIE_TASKS);
    expect(JSON.parse(failed[0]).created_at).toBe('2025-01-01T00:00:00.123456Z');
  });

  test('bad input is a usage error naming what is valid', async () => {
    await expectUsage(inspect.listTasks(db, { status: 'done' }), /valid statuses: pending, running, completed, failed, input_required/);
    await expectUsage(inspect.listTasks(db, { context: 'not-a-uuid' }), /--context is not a UUID/);
    await expectUsage(inspect.listTasks(db, { limit: '-1' }), /--limit/);
    await expectUsage(inspect.listTasks(db, { limit: '0' }), /--limit/);
    await expectUsage(inspect.listTasks(db, { since: 'last tuesday' }), /--since: cannot read/);
    await expectUsage(inspect.listTasks(db, { after: 'bogus' }), /invalid --after cursor/);
    await expectUsage(inspect.showTask(db, '123'), /task id is not a UUID/);
    const contextsCursor = (await inspect.listContexts(db, { limit: '1' })).next!;
    await expectUsage(inspect.listTasks(db, { after: contextsCursor }), /belongs to "contexts list"/);
  });

  test('SQL injection strings never reach SQL as text', async () => {
    const evil = ["x' or '1'='1", "'; drop table tasks; --", 'failed); delete from tasks; --'];
    for (const s of evil) {
      await expectUsage(inspect.listTasks(db, { status: s }), /unknown status/);
      await expectUsage(inspect.listTasks(db, { context: s }), /not a UUID/);
      await expectUsage(inspect.showTask(db, s), /not a UUID/);
      await expectUsage(inspect.listFeedback(db, { task: s }), /not a UUID/);
      // Below the validation, the data-access module binds them: Postgres rejects them as values.
      const source = await inspect.sourceFor(db);
      await expect(repo.listTasks(source, { contextId: s }, { limit: 5 })).rejects.toMatchObject({ code: '22P02', message: expect.stringMatching(/^invalid input/) });
      await expect(repo.listTasks(source, { statuses: [s as never] }, { limit: 5 })).rejects.toMatchObject({ code: '22P02' });
      await expect(repo.getTask(source, s)).rejects.toMatchObject({ code: '22P02' });
    }
    const [{ n }] = await sql<{ n: string }>('select count(*) as n from tasks');
    expect(Number(n)).toBe(target.tasks + 9 + TIE_TASKS.length);
  });

  if (target.name === 'postgres') {
    test('EXPLAIN: every inspection query is an index scan on the expected index', async () => {
      const s = await inspect.sourceFor(db);
      const knex = db.knex;
      const after = { ts: new Date(Date.now() - 5 * 86400e3).toISOString().replace('Z', '000Z'), id: 'ffffffff-ffff-ffff-ffff-ffffffffffff' };
      const [{ context_id: ctx }] = await sql<{ context_id: string }>('select context_id from tasks limit 1');
      const [{ task_id: task }] = await sql<{ task_id: string }>('select task_id from task_feedback limit 1');
      const expectations: Array<[string, repo.Statement, RegExp]> = [
        ['newest tasks', repo.taskPageStatement(s, {}, { limit: 20 }), /^Index Scan tasks_created_idx$/],
        ['deep page', repo.taskPageStatement(s, {}, { limit: 20, after }), /^Index Scan tasks_created_idx$/],
        ['failed tasks', repo.taskPageStatement(s, { statuses: ['failed'] }, { limit: 50 }), /^Index Scan tasks_status_created_idx$/],
        ['failed, deep page', repo.taskPageStatement(s, { statuses: ['failed'] }, { limit: 50, after }), /^Index Scan tasks_status_created_idx$/],
        ['two statuses', repo.taskPageStatement(s, { statuses: ['failed', 'running'] }, { limit: 50 }), /^Index Scan tasks_status_created_idx$/],
        ['since/until', repo.taskPageStatement(s, { since: new Date(Date.now() - 86400e3), until: new Date() }, { limit: 50 }), /^Index Scan tasks_created_idx$/],
        // 500 tasks per context here: a bitmap scan of the same index (an Index Scan at 10 per context).
        ['a context', repo.taskPageStatement(s, { contextId: ctx }, { limit: 50 }), /^((Bitmap )?Index Scan tasks_context_created_id_idx|Bitmap Heap Scan tasks)$/],
        ['contexts', repo.contextPageStatement(s, {}, { limit: 20 }), /^(Index Scan contexts_created_idx|Index Only Scan tasks_context_created_id_idx)$/],
        ['feedback of a task', repo.feedbackPageStatement(s, { taskId: task }, { limit: 20 }), /^Index Scan task_feedback_task_created_idx$/],
        ['feedback by rating', repo.feedbackPageStatement(s, { ratings: [4, 5] }, { limit: 20 }), /^Index Scan task_feedback_rating_created_idx$/],
        ['feedback newest', repo.feedbackPageStatement(s, {}, { limit: 20 }), /^Index Scan task_feedback_created_idx$/],
        ['stats by status', repo.statsStatements(s).byStatus, /^Index Only Scan tasks_status_created_idx$/],
        ['stats per day', repo.statsStatements(s).perDay, /^Index Only Scan tasks_created_idx$/],
        ['stats feedback', repo.statsStatements(s).feedback, /^Index Only Scan task_feedback_rating_created_idx$/],
      ];
      for (const [name, st, expected] of expectations) {
        const found = await scans(knex, st);
        expect({ name, found }).toEqual({ name, found: expect.arrayContaining([expect.stringMatching(expected)]) });
        expect({ name, unexpected: found.filter((f) => !expected.test(f)) }).toEqual({ name, unexpected: [] });
      }
    });
  }
});
