import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { runSeeds, seedFiles } from '../../src/core/seeds.js';
import * as inspect from '../../src/core/inspect.js';
import { type BinduError, UsageError } from '../../src/errors.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { pooledUrl } from '../helpers/pooler.js';
import { buildServerDatabase } from '../helpers/serverDb.js';
import { allPages } from '../helpers/paging.js';
import { AGENT_SCHEMAS } from '../fixtures/serverLayout.js';

// Inspection on databases written by Bindu's Python server (issue 5): detection per schema, every
// inspection use case on the server layout (with and without owner_did, and a legacy public
// schema), the same field names as on ours, and the status vocabularies mapped both ways.

/** Task ids of one agent schema of the fixture, by the state they were made in. */
const ids = (prefix: string) => ({
  context: `${prefix}000000-0000-4000-8000-000000000000`,
  submitted: `${prefix}000000-0000-4000-8000-000000000001`,
  working: `${prefix}000000-0000-4000-8000-000000000002`,
  inputRequired: `${prefix}000000-0000-4000-8000-000000000003`,
  authRequired: `${prefix}000000-0000-4000-8000-000000000004`,
  completed: `${prefix}000000-0000-4000-8000-000000000005`,
  failed: `${prefix}000000-0000-4000-8000-000000000006`,
  canceled: `${prefix}000000-0000-4000-8000-000000000007`,
  rejected: `${prefix}000000-0000-4000-8000-000000000008`,
  /** Failed 5 minutes before the fixture was made, no agent message, payment-failed. */
  failedSilent: `${prefix}000000-0000-4000-8000-0000000000f1`,
});
const ECHO = ids('aa');
const LEGACY = ids('cc');
const PUBLIC = ids('dd');
const NEWEST_FIRST = (x: ReturnType<typeof ids>) => [x.failedSilent, x.submitted, x.working, x.inputRequired, x.authRequired, x.completed, x.failed, x.canceled, x.rejected];
const OWNER = 'did:bindu:acme@example.com:echo_agent:438b4';
const REASON = 'Task execution failed: ConnectionError: upstream LLM refused the request';
/** Every timestamp, on every layout: UTC, Z, microseconds. */
const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const usageError = async (p: Promise<unknown>, pattern: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(UsageError);
  expect(`${(err as BinduError).message} | ${(err as BinduError).hint ?? ''}`).toMatch(pattern);
};


describe('inspection of a Bindu server database', () => {
  let t: { name: string; url: string };
  const open: Database[] = [];
  /** The database opened on one schema (as --schema would), through PgBouncer in transaction mode. */
  const on = async (schema: string) => {
    const db = await openDatabase(loadConfig({ url: pooledUrl(t.url), schema }, {}));
    open.push(db);
    return db;
  };
  let echo: Database, research: Database, legacy: Database, pub: Database, ours: Database;

  beforeAll(async () => {
    t = await createTestDatabase('serverinspect');
    const admin = await openDatabase(loadConfig({ url: t.url }, {}));
    try {
      await buildServerDatabase(admin.knex, { legacyPublic: true });
      // A state outside the eight the server knows: the column is free text.
      await admin.knex.raw(
        `insert into ??.tasks (id, context_id, owner_did, kind, state, state_timestamp, history, created_at, updated_at)
         values ('bb000000-0000-4000-8000-0000000000e1', 'bb000000-0000-4000-8000-000000000000', 'did:x', 'task', 'paused', now(), '[]', now() - interval '3 days', now())`,
        [AGENT_SCHEMAS.research],
      );
    } finally {
      await admin.close();
    }
    ours = await on('bindu');
    const config = loadConfig({ schema: 'bindu' }, {});
    const direct = await openDatabase(loadConfig({ url: t.url, schema: 'bindu' }, {}), { session: 'migrate up' });
    try {
      await up(direct, readMigrations(), { lockTimeoutSeconds: 10 });
    } finally {
      await direct.close();
    }
    await runSeeds(ours, config.seedsDir, seedFiles(config.seedsDir));
    [echo, research, legacy, pub] = await Promise.all([on(AGENT_SCHEMAS.echo), on(AGENT_SCHEMAS.research), on(AGENT_SCHEMAS.legacy), on('public')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(open.map((db) => db.close()));
    await dropTestDatabase(t.name);
  });

  test('detection: each schema reads through its own layout', async () => {
    const layouts = await Promise.all([ours, echo, legacy, pub].map(async (db) => (await inspect.sourceFor(db)).layout));
    expect(layouts.map((l) => [l.name, l.tasks.ownerDid])).toEqual([
      ['bindu-db', null],
      ['bindu-server', 'owner_did'],
      ['bindu-server', null],
      ['bindu-server', null],
    ]);
    // Detected once per opened database.
    expect(await inspect.sourceFor(echo)).toBe(await inspect.sourceFor(echo));
  });

  test('a schema with no recognised tables is a usage error listing the schemas that have them', async () => {
    const none = await on('nothing_here');
    await usageError(inspect.listTasks(none, {}), new RegExp(`schema "nothing_here" holds no Bindu tables \\| schemas that do: .*bindu \\(bindu-db\\).*${AGENT_SCHEMAS.echo} \\(bindu-server\\).*public \\(bindu-server\\).*--schema`));
    await usageError(inspect.stats(none), /holds no Bindu tables/);
  });

  test('tasks list: our field names, normalized status beside the server\'s state, owner, payment, failure reason', async () => {
    const page = await inspect.listTasks(echo, {});
    expect(page.next).toBeNull();
    expect(page.items.map((x) => x.task_id)).toEqual(NEWEST_FIRST(ECHO));
    expect(page.items.map((x) => [x.status, x.state])).toEqual([
      ['failed', 'failed'], ['pending', 'submitted'], ['running', 'working'], ['input_required', 'input-required'], ['auth_required', 'auth-required'],
      ['completed', 'completed'], ['failed', 'failed'], ['canceled', 'canceled'], ['rejected', 'rejected'],
    ]);
    const failed = page.items.find((x) => x.task_id === ECHO.failed)!;
    expect(failed).toEqual({
      task_id: ECHO.failed,
      context_id: ECHO.context,
      status: 'failed',
      state: 'failed',
      state_timestamp: expect.stringMatching(TIMESTAMP),
      owner_did: OWNER,
      payment_status: null,
      created_at: expect.stringMatching(TIMESTAMP),
      updated_at: expect.stringMatching(TIMESTAMP),
      message_count: 2,
      failure_reason: REASON,
    });
    // A failed task without any agent message has no reason; other states never have one.
    expect(page.items.find((x) => x.task_id === ECHO.failedSilent)?.failure_reason).toBeNull();
    expect(page.items.filter((x) => x.status !== 'failed').every((x) => x.failure_reason === null)).toBe(true);
    expect(page.items.find((x) => x.task_id === ECHO.working)?.payment_status).toBe('payment-orphaned');
  });

  test('tasks list pages through every task once on the server layout (no index on (created_at, id))', async () => {
    for (const [db, x] of [[echo, ECHO], [legacy, LEGACY], [pub, PUBLIC]] as const) {
      const items = await allPages((after) => inspect.listTasks(db, { limit: '2', after }));
      expect(items.map((i) => i.task_id)).toEqual(NEWEST_FIRST(x));
    }
  });

  test('--status takes both vocabularies on both layouts', async () => {
    const listed = async (db: Database, status: string) => (await inspect.listTasks(db, { status })).items.map((x) => x.task_id);
    for (const [ours_, theirs, id] of [
      ['pending', 'submitted', ECHO.submitted],
      ['running', 'working', ECHO.working],
      ['input_required', 'input-required', ECHO.inputRequired],
      ['auth_required', 'auth-required', ECHO.authRequired],
    ]) {
      expect(await listed(echo, ours_)).toEqual([id]);
      expect(await listed(echo, theirs)).toEqual([id]);
    }
    expect(await listed(echo, 'failed')).toEqual([ECHO.failedSilent, ECHO.failed]);
    expect(await listed(echo, 'canceled,rejected')).toEqual([ECHO.canceled, ECHO.rejected]);
    // Our layout: the server's names map onto our enum.
    const seeded = async (status: string) => (await inspect.listTasks(ours, { status })).items.map((x) => [x.task_id, x.status]);
    expect(await seeded('submitted')).toEqual(await seeded('pending'));
    expect(await seeded('working,input-required')).toEqual(await seeded('running,input_required'));
    expect((await seeded('submitted')).length).toBeGreaterThan(0);
    expect((await inspect.listTasks(ours, {})).items[0]).not.toHaveProperty('state');
    // States only the server writes are a usage error on ours, naming the valid values.
    for (const status of ['canceled', 'rejected', 'auth-required']) {
      await usageError(inspect.listTasks(ours, { status }), /does not exist in schema "bindu" \(bindu-db layout\) \| valid statuses there: pending, running, completed, failed, input_required/);
    }
  });

  test('a free-text state outside the known ones is shown as written', async () => {
    const page = await inspect.listTasks(research, { since: '4d', until: '2d' });
    expect(page.items.map((x) => [x.status, x.state])).toEqual([['paused', 'paused']]);
    const s = await inspect.stats(research);
    expect(s.tasks_by_status.paused).toBe(1);
    expect(s.tasks_by_state?.paused).toBe(1);
  });

  test('--owner filters on owner_did; a schema without the column is a usage error', async () => {
    expect((await inspect.listTasks(echo, { owner: OWNER })).items).toHaveLength(9);
    expect((await inspect.listTasks(echo, { owner: 'did:bindu:someone:else' })).items).toHaveLength(0);
    await usageError(inspect.listTasks(legacy, { owner: OWNER }), /--owner: schema ".*old_agent.*" \(bindu-server layout\) has no owner_did column \| .*before April 2026/);
    await usageError(inspect.listTasks(ours, { owner: OWNER }), /--owner: .*bindu-db layout.*no owner_did/);
    expect((await inspect.listTasks(legacy, {})).items.every((x) => x.owner_did === null)).toBe(true);
  });

  test('contexts list --owner filters on the contexts\' owner_did; a schema without the column is a usage error', async () => {
    const owned = (await inspect.listContexts(echo, { owner: OWNER })).items;
    expect(owned.length).toBeGreaterThan(0);
    expect(owned.length).toBe((await inspect.listContexts(echo, {})).items.filter((c) => (c as { owner_did?: string }).owner_did === OWNER).length);
    expect((await inspect.listContexts(echo, { owner: 'did:bindu:someone:else' })).items).toHaveLength(0);
    await usageError(inspect.listContexts(legacy, { owner: OWNER }), /--owner: schema ".*old_agent.*" \(bindu-server layout\) has no owner_did column \| .*before April 2026/);
    await usageError(inspect.listContexts(ours, { owner: OWNER }), /--owner: .*bindu-db layout.*no owner_did/);
  });

  test('--payment-status reads x402.payment.status; with --until it finds the stuck ones', async () => {
    const listed = async (input: inspect.TaskListInput) => (await inspect.listTasks(echo, input)).items.map((x) => [x.task_id, x.payment_status]);
    expect(await listed({ paymentStatus: 'payment-failed,payment-orphaned' })).toEqual([[ECHO.failedSilent, 'payment-failed'], [ECHO.working, 'payment-orphaned']]);
    expect(await listed({ paymentStatus: 'payment-failed,payment-orphaned', until: '3m' })).toEqual([[ECHO.failedSilent, 'payment-failed'], [ECHO.working, 'payment-orphaned']]);
    expect(await listed({ paymentStatus: 'payment-failed,payment-orphaned', until: '10m' })).toEqual([[ECHO.working, 'payment-orphaned']]);
    expect(await listed({ paymentStatus: 'payment-completed', status: 'completed' })).toEqual([[ECHO.completed, 'payment-completed']]);
    expect(await (await inspect.listTasks(legacy, { paymentStatus: 'payment-failed' })).items.map((x) => x.task_id)).toEqual([LEGACY.failedSilent]);
    await usageError(inspect.listTasks(ours, { paymentStatus: 'payment-failed' }), /--payment-status: schema "bindu" \(bindu-db layout\) records no payment status/);
  });

  test('tasks show: every field, feedback from feedback_data, webhook token masked', async () => {
    const task = await inspect.showTask(echo, ECHO.failed);
    expect(task).toMatchObject({ task_id: ECHO.failed, context_id: ECHO.context, status: 'failed', state: 'failed', kind: 'task', owner_did: OWNER, metadata: {} });
    expect(task.history.map((m) => (m as { role: string }).role)).toEqual(['user', 'agent']);
    expect(task.feedback).toEqual([{ feedback_id: expect.stringMatching(/^\d+$/), task_id: ECHO.failed, feedback: 'It failed', rating: 1, metadata: { source: 'api' }, created_at: expect.stringMatching(TIMESTAMP) }]);
    expect(task.webhook_config).toBeNull();
    const hooked = await inspect.showTask(echo, ECHO.working);
    expect(hooked.status).toBe('running');
    expect(hooked.metadata).toEqual({ 'x402.payment.status': 'payment-orphaned' });
    expect(hooked.webhook_config?.config).toEqual({ id: 'wh-1', url: 'https://hooks.example.com/x', token: '***', authentication: { schemes: ['Bearer'] } });
    expect(JSON.stringify(hooked)).not.toContain('server-webhook-token-123456');
    const done = await inspect.showTask(legacy, LEGACY.completed);
    expect(done).toMatchObject({ status: 'completed', owner_did: null });
    expect(Array.isArray(done.artifacts)).toBe(true);
    await expect(inspect.showTask(echo, LEGACY.completed)).rejects.toMatchObject({ exitCode: 1, message: `task ${LEGACY.completed} not found` });
  });

  test("contexts list and show: context_data as metadata, the conversation from the tasks' history (the server writes no message_history)", async () => {
    for (const [db, x, owner] of [[echo, ECHO, OWNER], [legacy, LEGACY, null]] as const) {
      const histories = await adminQuery<{ history: unknown[] }>(`select history from "${db.schema}".tasks where context_id = $1 order by created_at, id`, [x.context], t.name);
      const conversation = histories.flatMap((r) => r.history);
      expect(conversation.length).toBeGreaterThan(9);
      const page = await inspect.listContexts(db, {});
      expect(page.items).toEqual([
        {
          context_id: x.context,
          owner_did: owner,
          metadata: { title: expect.stringMatching(/^conversation of /) },
          created_at: expect.stringMatching(TIMESTAMP),
          updated_at: expect.stringMatching(TIMESTAMP),
          message_count: conversation.length,
          messages_from: 'tasks.history',
          task_count: 9,
          last_activity_at: expect.stringMatching(TIMESTAMP),
        },
      ]);
      const shown = await inspect.showContext(db, x.context);
      expect(shown.messages).toEqual(conversation);
      expect(shown.messages_from).toBe('tasks.history');
      expect(shown.tasks.map((task) => task.task_id)).toEqual(NEWEST_FIRST(x));
    }
  });

  test('feedback list: text and rating from feedback_data, filters, pages over serial ids', async () => {
    const items = await allPages((after) => inspect.listFeedback(echo, { limit: '1', after }));
    expect(items.map((f) => [f.task_id, f.rating, f.feedback])).toEqual(
      expect.arrayContaining([[ECHO.completed, 5, 'Great answer'], [ECHO.failed, 1, 'It failed']]),
    );
    expect(items).toHaveLength(2);
    expect(items.every((f) => typeof f.feedback_id === 'string')).toBe(true);
    expect((await inspect.listFeedback(echo, { rating: '5' })).items.map((f) => f.task_id)).toEqual([ECHO.completed]);
    expect((await inspect.listFeedback(echo, { minRating: '2' })).items.map((f) => f.task_id)).toEqual([ECHO.completed]);
    expect((await inspect.listFeedback(echo, { task: ECHO.failed })).items.map((f) => f.metadata)).toEqual([{ source: 'api' }]);
    // A feedback cursor of the server layout (a serial id) is refused on ours, and the reverse.
    const serverCursor = (await inspect.listFeedback(echo, { limit: '1' })).next!;
    await usageError(inspect.listFeedback(ours, { after: serverCursor }), /another layout/);
    const ourCursor = (await inspect.listFeedback(ours, { limit: '1' })).next!;
    await usageError(inspect.listFeedback(echo, { after: ourCursor }), /another layout/);
  });

  test('stats: by normalized status and by the server\'s own state, failure rate, ratings from feedback_data', async () => {
    const s = await inspect.stats(echo);
    expect(s.tasks_by_status).toEqual({ pending: 1, running: 1, completed: 1, failed: 2, input_required: 1, auth_required: 1, canceled: 1, rejected: 1 });
    expect(s.tasks_by_state).toEqual({ submitted: 1, working: 1, completed: 1, failed: 2, 'input-required': 1, 'auth-required': 1, canceled: 1, rejected: 1 });
    expect(s.failure_rate).toBeCloseTo(2 / 9);
    expect(s.feedback).toEqual({ count: 2, by_rating: { 1: 1, 2: 0, 3: 0, 4: 0, 5: 1 }, average_rating: 3 });
    expect(s.tasks_per_day.reduce((a, d) => a + d.count, 0)).toBe(9);
    expect(Object.keys(s.table_sizes).sort()).toEqual(['contexts', 'task_feedback', 'tasks', 'webhook_configs']);
    expect(s.table_sizes.tasks.rows).toBe(9);
    expect(s.table_sizes.webhook_configs.rows).toBe(1);
    const mine = await inspect.stats(ours);
    expect(Object.keys(mine.tasks_by_status)).toEqual(['pending', 'running', 'completed', 'failed', 'input_required']);
    expect(mine).not.toHaveProperty('tasks_by_state');
  });

  test('tasks export on the server layout: normalized status plus the server\'s own fields', async () => {
    const lines: string[] = [];
    const n = await inspect.exportTasks(echo, { status: 'working,failed' }, async (batch) => void lines.push(...batch));
    expect(n).toBe(3);
    const rows = lines.map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.status, r.state]).sort()).toEqual([['failed', 'failed'], ['failed', 'failed'], ['running', 'working']]);
    expect(Object.keys(rows[0]).sort()).toEqual(['artifacts', 'context_id', 'created_at', 'history', 'kind', 'metadata', 'owner_did', 'state', 'state_timestamp', 'status', 'task_id', 'updated_at']);
    const owned: string[] = [];
    await inspect.exportTasks(legacy, { paymentStatus: 'payment-failed' }, async (batch) => void owned.push(...batch));
    expect(owned.map((l) => JSON.parse(l).task_id)).toEqual([LEGACY.failedSilent]);
  });

  test('seed generate refuses to write into a server schema', async () => {
    await expect(inspect.generateData(echo, { tasks: 10, yes: true })).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/holds Bindu server tables/) });
  });
});
