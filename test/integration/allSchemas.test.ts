import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Knex } from 'knex';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import * as inspect from '../../src/core/inspect.js';
import { allSources, fitSources, fitTaskFilter } from '../../src/core/inspectAll.js';
import * as repo from '../../src/db/inspect/index.js';
import { UsageError } from '../../src/errors.js';
import { databasesOfFile } from '../helpers/db.js';
import { allPages } from '../helpers/paging.js';
import { runCli } from '../helpers/cli.js';
import { planNodes } from '../helpers/plans.js';
import { FLEET, addOurSchema, buildFleetDatabase } from '../helpers/serverDb.js';

// --all-schemas: every row of every schema exactly once, newest first across schemas, as SQL
// over the same tables orders them; filters meaning the same everywhere; one notice for schemas
// a filter cannot serve.

const dbs = databasesOfFile('allschemas');
const OURS = 'ours';
const TIE = '2026-01-01T00:00:00.123456Z';

const rows = async <T>(knex: Knex, sql: string, bindings: unknown[] = []) => ((await knex.raw(sql, bindings as Knex.RawBinding[])) as { rows: T[] }).rows;


describe('--all-schemas', () => {
  let url: string;
  let db: Database;
  let schemas: Array<{ schema: string; id: string; layout: 'bindu-db' | 'bindu-server' }>;

  /** (schema, id) of every row of a table kind across the schemas, in the order --all-schemas promises. */
  const expected = async (kind: 'tasks' | 'contexts' | 'feedback', where: (layout: 'bindu-db' | 'bindu-server') => string | null = () => 'true') => {
    const parts = schemas.flatMap((s) => {
      const w = where(s.layout);
      if (w === null) return [];
      const ours = s.layout === 'bindu-db';
      const t = kind === 'feedback' ? 'task_feedback' : kind;
      const id = kind === 'feedback' ? (ours ? 'feedback_id' : 'id') : ours ? (kind === 'tasks' ? 'task_id' : 'context_id') : 'id';
      // Integer ids zero-padded: their text order is their numeric order.
      return [`select '${s.schema}'::text as schema, ${id}::text as id, lpad(${id}::text, 36, '0') as sort, created_at from "${s.schema}".${t} where ${w}`];
    });
    const r = await rows<{ schema: string; id: string }>(db.knex, `select schema, id from (${parts.join(' union all ')}) u order by created_at desc, schema collate "C" desc, sort collate "C" desc`);
    return r.map((x) => `${x.schema} ${x.id}`);
  };

  beforeAll(async () => {
    ({ url } = await dbs.create());
    db = await openDatabase(loadConfig({ url }, {}));
    await buildFleetDatabase(db.knex);
    await addOurSchema(url, OURS);
    // Rows of ours, and ties: the same created_at in every schema, and twice in each.
    await db.knex.raw(`insert into ours.contexts (context_id, created_at) values ('0e000000-0000-4000-8000-000000000000', now() - interval '2 hours'), ('0e000000-0000-4000-8000-0000000000c1', ?)`, [TIE]);
    for (let i = 0; i < 6; i++) {
      await db.knex.raw(`insert into ours.tasks (task_id, context_id, status, created_at) values (?, '0e000000-0000-4000-8000-000000000000', ?, now() - make_interval(mins => ?))`, [
        `0e000000-0000-4000-8000-00000000000${i}`, i % 2 ? 'failed' : 'running', i * 37,
      ]);
    }
    for (const s of [FLEET.current, FLEET.old, 'public']) {
      const prefix = { [FLEET.current]: 'aa', [FLEET.old]: 'cc', public: 'dd' }[s]!;
      await db.knex.raw(`insert into "${s}".contexts (id, created_at) values (?, ?)`, [`${prefix}000000-0000-4000-8000-0000000000c1`, TIE]);
      for (const n of [1, 2]) {
        await db.knex.raw(`insert into "${s}".tasks (id, context_id, kind, state, state_timestamp, created_at) values (?, ?, 'task', 'failed', now(), ?)`, [
          `${prefix}000000-0000-4000-8000-0000000000e${n}`, `${prefix}000000-0000-4000-8000-000000000000`, TIE,
        ]);
      }
      // Serial ids past 9, at one instant: the order must be numeric, not textual.
      for (let n = 0; n < 10; n++) await db.knex.raw(`insert into "${s}".task_feedback (task_id, feedback_data, created_at) values (?, '{"rating": 2}', ?)`, [`${prefix}000000-0000-4000-8000-0000000000e1`, TIE]);
    }
    await db.knex.raw(`insert into ours.tasks (task_id, context_id, status, created_at) values ('0e000000-0000-4000-8000-0000000000e1', '0e000000-0000-4000-8000-000000000000', 'failed', ?), ('0e000000-0000-4000-8000-0000000000e2', '0e000000-0000-4000-8000-000000000000', 'failed', ?)`, [TIE, TIE]);
    await db.knex.raw(`insert into ours.task_feedback (task_id, rating, feedback, created_at) select '0e000000-0000-4000-8000-0000000000e1', 2, 'meh', ? from generate_series(1, 3)`, [TIE]);
    schemas = [
      { schema: FLEET.current, id: 'id', layout: 'bindu-server' },
      { schema: FLEET.old, id: 'id', layout: 'bindu-server' },
      { schema: OURS, id: 'task_id', layout: 'bindu-db' },
      { schema: 'public', id: 'id', layout: 'bindu-server' },
    ];
  }, 60_000);
  afterAll(async () => {
    await db.close();
    await dbs.dropAll();
  });

  test('tasks list: every task of every schema exactly once, newest first, paged across schemas', async () => {
    const want = await expected('tasks');
    expect(want.length).toBe(9 * 3 + 2 * 3 + 8);
    for (const limit of ['1', '4', '50']) {
      const got = await allPages((after) => inspect.listTasks(db, { allSchemas: true, limit, after }));
      expect(got.map((t) => `${t.schema} ${t.task_id}`)).toEqual(want);
    }
    const page = await inspect.listTasks(db, { allSchemas: true, limit: '50' });
    const ours = page.items.find((t) => t.schema === OURS && t.status === 'failed')!;
    const theirs = page.items.find((t) => t.schema === FLEET.current && t.status === 'running')!;
    // The same fields on every item; the server's own where a schema has them.
    expect(Object.keys(ours).sort()).toEqual(Object.keys(theirs).sort());
    expect(theirs).toMatchObject({ state: 'working', owner_did: 'did:bindu:acme@example.com:echo_agent:438b4' });
    expect(ours).toMatchObject({ state: null, owner_did: null });
  });

  test('--status failed means the same in every schema; --owner skips the schemas without owner_did, once', async () => {
    const failed = await allPages((after) => inspect.listTasks(db, { allSchemas: true, status: 'failed', limit: '3', after }));
    expect(failed.map((t) => `${t.schema} ${t.task_id}`)).toEqual(await expected('tasks', (l) => (l === 'bindu-db' ? "status = 'failed'" : "state = 'failed'")));
    const owner = 'did:bindu:acme@example.com:echo_agent:438b4';
    const page = await inspect.listTasks(db, { allSchemas: true, owner, limit: '100' });
    expect(page.skipped).toEqual([
      { schema: FLEET.old, reason: '--owner: no owner_did column' },
      { schema: OURS, reason: '--owner: no owner_did column' },
    ]);
    expect(new Set(page.items.map((t) => t.schema))).toEqual(new Set([FLEET.current, 'public']));
    expect(page.items.every((t) => t.owner_did === owner)).toBe(true);
    // A status only the server's layout has matches none of ours: no error, no rows from ours.
    const canceled = await inspect.listTasks(db, { allSchemas: true, status: 'canceled' });
    expect(canceled.items.map((t) => t.schema).sort()).toEqual([FLEET.current, FLEET.old, 'public']);

    const cli = await runCli(['tasks', 'list', '--all-schemas', '--owner', owner, '--json'], { env: { DATABASE_URL: url } });
    expect(cli.code).toBe(0);
    expect(cli.stderr.match(/skipped/g)).toHaveLength(1);
    expect(cli.stderr).toMatch(new RegExp(`skipped 2 schemas \\(--owner: no owner_did column\\): ${FLEET.old}, ${OURS}`));
    expect(JSON.parse(cli.stdout).items[0]).toMatchObject({ schema: expect.any(String), task_id: expect.any(String) });
  });

  test('contexts list and feedback list: every row once across schemas (serial ids in numeric order)', async () => {
    for (const limit of ['1', '3']) {
      const contexts = await allPages((after) => inspect.listContexts(db, { allSchemas: true, limit, after }));
      expect(contexts.map((c) => `${c.schema} ${c.context_id}`)).toEqual(await expected('contexts'));
      const feedback = await allPages((after) => inspect.listFeedback(db, { allSchemas: true, limit, after }));
      expect(feedback.map((f) => `${f.schema} ${f.feedback_id}`)).toEqual(await expected('feedback'));
    }
    const rated = await allPages((after) => inspect.listFeedback(db, { allSchemas: true, rating: '2', limit: '4', after }));
    expect(rated.length).toBe(33);
  });

  test('a cursor carries its schema: one of --all-schemas is refused without it, and the reverse', async () => {
    const ours = await openDatabase(loadConfig({ url, schema: OURS }, {}));
    try {
      const across = await inspect.listTasks(db, { allSchemas: true, limit: '2' });
      const one = await inspect.listTasks(ours, { limit: '2' });
      await expect(inspect.listTasks(ours, { after: across.next! })).rejects.toThrow(/add --all-schemas/);
      await expect(inspect.listTasks(ours, { allSchemas: true, after: one.next! })).rejects.toBeInstanceOf(UsageError);
    } finally {
      await ours.close();
    }
  });

  test('tasks export --all-schemas: every task once, each line with its schema', async () => {
    const lines: string[] = [];
    const n = await inspect.exportTasks(db, { allSchemas: true, status: 'failed' }, async (batch) => void lines.push(...batch));
    const got = lines.map((l) => JSON.parse(l) as { schema: string; task_id: string; status: string });
    expect(n).toBe(got.length);
    expect(got.map((t) => `${t.schema} ${t.task_id}`).sort()).toEqual((await expected('tasks', (l) => (l === 'bindu-db' ? "status = 'failed'" : "state = 'failed'"))).sort());
    expect(Object.keys(got[0])[0]).toBe('schema');
  });

  test('stats --all-schemas adds up the schemas; --by-schema gives one row per agent', async () => {
    const per = await Promise.all(schemas.map(async (s) => {
      const x = await openDatabase(loadConfig({ url, schema: s.schema }, {}));
      try {
        return await inspect.stats(x);
      } finally {
        await x.close();
      }
    }));
    const total = await inspect.stats(db, { allSchemas: true });
    expect('tasks_by_status' in total && total.tasks_by_status.failed).toBe(per.reduce((a, s) => a + s.tasks_by_status.failed, 0));
    expect('schemas' in total && total.schemas).toBe(4);
    const by = await inspect.stats(db, { bySchema: true });
    expect('items' in by && by.items.map((r) => [r.schema, r.tasks, r.tasks_by_status.failed])).toEqual(
      schemas.map((s, i) => [s.schema, Object.values(per[i].tasks_by_status).reduce((a, b) => a + b, 0), per[i].tasks_by_status.failed]),
    );
    const cli = await runCli(['stats', '--by-schema', '--json'], { env: { DATABASE_URL: url } });
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).items[0]).toEqual({ schema: FLEET.current, layout: 'bindu-server', tasks: 11, tasks_by_status: expect.any(Object), failure_rate: 4 / 11, last_activity: expect.any(String) });
  });

  test('EXPLAIN: each schema\'s branch of a page across schemas is an index scan', async () => {
    const sources = await allSources(db, inspect.layoutFor);
    const fit = fitSources(sources, (s) => fitTaskFilter(s, { statuses: ['failed'] }));
    const after = { ts: TIE, id: 'aa000000-0000-4000-8000-0000000000e2', schema: FLEET.current };
    for (const page of [{ limit: 50 }, { limit: 50, after }]) {
      const st = repo.taskPageAcrossStatement(fit.sources, fit.filters, page);
      // Tables this small are read sequentially when allowed: ask for the plan an index can give.
      const nodes = await db.knex.transaction(async (trx) => {
        await trx.raw('set local enable_seqscan = off');
        return planNodes(trx, st);
      });
      const scans = nodes.filter((n) => /Scan/.test(n['Node Type']) && n['Relation Name'] === 'tasks');
      expect(scans.map((n) => n['Node Type'])).not.toContain('Seq Scan');
      expect(scans.length).toBeGreaterThanOrEqual(fit.sources.length);
      expect(scans.map((n) => `${n['Node Type']} ${n['Index Name'] ?? ''}`).filter((x) => !/Index|Bitmap Heap/.test(x))).toEqual([]);
    }
  });
});
