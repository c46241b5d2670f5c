import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type CliResult, runCli, runOnTerminal } from '../helpers/cli.js';
import { pooledUrl } from '../helpers/pooler.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

// The commands as a user runs them: stdout carries only results, exit codes, --json shapes.

const FAILED = ['c0ffee00-0000-4000-8000-000000000009', 'c0ffee00-0000-4000-8000-000000000005', 'c0ffee00-0000-4000-8000-000000000003'];
const WEBHOOK_TASK = 'c0ffee00-0000-4000-8000-000000000006';
const json = (r: CliResult) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return JSON.parse(r.stdout);
};

describe('inspection commands on PostgreSQL (through PgBouncer)', () => {
  let db: { name: string; url: string };
  // Through PgBouncer in transaction mode, as on a managed host; migrate up goes to the direct endpoint.
  const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: pooledUrl(db.url), DIRECT_DATABASE_URL: db.url } });

  beforeAll(async () => {
    db = await createTestDatabase('inspectcli');
    expect((await cli('migrate', 'up')).code).toBe(0);
    const seeded = await cli('seed', 'run');
    expect(seeded.code).toBe(0);
  });
  afterAll(async () => dropTestDatabase(db.name));

  test('tasks list --status failed --json: items without large JSON, failure reasons, next null', async () => {
    const doc = json(await cli('tasks', 'list', '--status', 'failed', '--json'));
    expect(doc.next).toBeNull();
    expect(doc.items.map((t: { task_id: string }) => t.task_id)).toEqual(FAILED);
    expect(doc.items[0]).toEqual({
      task_id: FAILED[0],
      context_id: '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b03',
      status: 'failed',
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
      updated_at: expect.stringMatching(/Z$/),
      message_count: 2,
      failure_reason: 'Task execution failed: TimeoutError: the upstream agent did not answer within 300 s',
    });
  });

  test('pages follow "next" and return every task exactly once', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const doc: { items: Array<{ task_id: string }>; next: string | null } = json(await cli('tasks', 'list', '--limit', '4', '--json', ...(after ? ['--after', after] : [])));
      seen.push(...doc.items.map((t) => t.task_id));
      after = doc.next;
    } while (after);
    expect(seen).toHaveLength(9);
    expect(new Set(seen).size).toBe(9);
  });

  test('table mode: coloured-status table on stdout, the next cursor on stderr', async () => {
    const r = await cli('tasks', 'list', '--limit', '2');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TASK\s+STATUS\s+CONTEXT\s+CREATED\s+UPDATED\s+MSGS\s+FAILURE REASON$/);
    expect(lines).toHaveLength(3);
    const cursor = /next page: --after (\S+)/.exec(r.stderr)?.[1];
    expect(cursor).toBeDefined();
    const next = json(await cli('tasks', 'list', '--limit', '2', '--after', cursor!, '--json'));
    expect(next.items).toHaveLength(2);
    expect(r.stdout).not.toContain(next.items[0].task_id);
  });

  test('one timestamp format everywhere: list, show, export, CSV and the table agree to the microsecond', async () => {
    const id = FAILED[0];
    // A minute ago, to the microsecond, written at +01: still the newest failed task (later tests list them in order).
    const at = new Date(Date.now() - 60_000);
    const expected = `${at.toISOString().slice(0, 23)}487Z`;
    const written = `${new Date(at.getTime() + 3_600_000).toISOString().slice(0, 23).replace('T', ' ')}487+01`;
    await adminQuery('update tasks set created_at = $2 where task_id = $1', [id, written], db.name);
    const listed = json(await cli('tasks', 'list', '--context', '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b03', '--json')).items.find((t: { task_id: string }) => t.task_id === id);
    expect(listed.created_at).toBe(expected);
    expect(json(await cli('tasks', 'show', id, '--json')).created_at).toBe(expected);
    const exported = (await cli('tasks', 'export', '--context', '7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b03')).stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(exported.find((t) => t.task_id === id).created_at).toBe(expected);
    expect((await cli('tasks', 'list', '--format', 'csv')).stdout).toContain(expected);
    expect((await cli('tasks', 'list')).stdout).toContain(expected);
    expect((await cli('tasks', 'show', id)).stdout).toContain(expected);
  });

  test.each([[['tasks', 'list']], [['contexts', 'list']], [['feedback', 'list']], [['stats']]])('%j on a 60-column terminal: no line is wider', async (args) => {
    const r = await runOnTerminal(args, { setup: 'stty cols 60 rows 50', env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(0);
    const lines = r.text.split(/\r?\n/).filter((l) => !l.startsWith('using ') && !l.startsWith('next page'));
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(60);
  });

  test('--format jsonl and csv: one row per line, no envelope', async () => {
    const jsonl = await cli('tasks', 'list', '--status', 'failed', '--format', 'jsonl');
    expect(jsonl.code).toBe(0);
    const rows = jsonl.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows.map((t) => t.task_id)).toEqual(FAILED);
    const csv = await cli('feedback', 'list', '--format', 'csv');
    expect(csv.code).toBe(0);
    const lines = csv.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('feedback_id,task_id,rating,feedback,metadata,created_at');
    expect(lines).toHaveLength(5);
    expect(csv.stdout).toContain('"{""source"":""web-ui""}"');
    expect((await cli('tasks', 'list', '--format', 'xml')).code).toBe(2);
  });

  test('tasks show: timeline, feedback, webhook token masked (text and --json)', async () => {
    const text = await cli('tasks', 'show', WEBHOOK_TASK);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/History \(1 message\)/);
    expect(text.stdout).toContain('Compare prices of the three restaurants.');
    expect(text.stdout).toContain('"token": "***"');
    const doc = json(await cli('tasks', 'show', WEBHOOK_TASK, '--json'));
    expect(doc.webhook_config.config.token).toBe('***');
    expect(doc.feedback).toEqual([]);
    for (const r of [text, await cli('tasks', 'show', WEBHOOK_TASK, '--json')]) expect(r.stdout + r.stderr).not.toContain('whsec_');
    const rated = json(await cli('tasks', 'show', 'c0ffee00-0000-4000-8000-000000000003', '--json'));
    expect(rated.feedback.map((f: { rating: number }) => f.rating)).toEqual([1]);
    expect(rated.history.at(-1).parts[0].text).toMatch(/^Task execution failed/);
  });

  test('contexts, feedback and stats --json shapes', async () => {
    const contexts = json(await cli('contexts', 'list', '--json'));
    expect(contexts.items).toHaveLength(3);
    expect(Object.keys(contexts.items[0]).sort()).toEqual(['context_id', 'created_at', 'last_activity_at', 'message_count', 'metadata', 'task_count', 'updated_at']);
    const shown = json(await cli('contexts', 'show', contexts.items[0].context_id, '--json'));
    expect(shown.tasks).toHaveLength(3);
    expect(Array.isArray(shown.messages)).toBe(true);
    const fb = json(await cli('feedback', 'list', '--min-rating', '4', '--json'));
    expect(fb.items.map((f: { rating: number }) => f.rating).sort()).toEqual([4, 5]);
    const stats = json(await cli('stats', '--json'));
    expect(stats.tasks_by_status).toEqual({ pending: 1, running: 1, completed: 3, failed: 3, input_required: 1 });
    expect(stats.failure_rate).toBeCloseTo(3 / 9);
    expect(stats.tasks_per_day).toHaveLength(14);
    expect(stats.feedback).toEqual({ count: 4, by_rating: { 1: 1, 2: 0, 3: 1, 4: 1, 5: 1 }, average_rating: 3.25 });
    const table = await cli('stats');
    expect(table.stdout).toMatch(/Tasks per day/);
    expect(table.stdout).toMatch(/failure rate 33\.33%/);
  });

  test('tasks export: JSON Lines with full history on stdout, the count on stderr', async () => {
    const r = await cli('tasks', 'export', '--status', 'failed,completed');
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(rows).toHaveLength(6);
    expect(rows.every((t) => Array.isArray(t.history) && t.history.length > 0)).toBe(true);
    expect(r.stderr).toContain('exported 6 tasks');
  });

  test.each([
    [['tasks', 'list', '--status', 'bogus'], /unknown status "bogus"[\s\S]*valid statuses: pending, running, completed, failed, input_required/],
    [['tasks', 'list', '--context', '123'], /--context is not a UUID/],
    [['tasks', 'list', '--limit', '0'], /--limit must be a whole number from 1/],
    [['tasks', 'list', '--limit=-5'], /--limit must be a whole number from 1/],
    [['tasks', 'list', '--limit', '-1'], /--limit must be a whole number from 1/],
    [['tasks', 'list', '--since', 'yesterday'], /--since: cannot read "yesterday"[\s\S]*30m, 24h, 7d/],
    [['tasks', 'list', '--after', 'garbage'], /invalid --after cursor/],
    [['tasks', 'show', 'nope'], /task id is not a UUID/],
    [['feedback', 'list', '--rating', '7'], /--rating must be a whole number from 1 to 5/],
    [['tasks', 'list', '--status', "failed'; drop table tasks; --"], /unknown status/],
    [['tasks', 'list', '--context', "x' or '1'='1"], /not a UUID/],
    [['tasks', 'list', '--since', '99999999d'], /^error: --since: "99999999d" reaches back before the year 1$/m],
    [['tasks', 'list', '--since', '99999999999999999999999d'], /--since: "99999999999999999999999d" reaches back/],
    [['tasks', 'list', '--since', '2025-02-30'], /--since: cannot read "2025-02-30" as a time/],
    [['contexts', 'list', '--until', '2025-04-31T10:00Z'], /--until: cannot read/],
    [['feedback', 'list', '--until', '2025-02-30'], /--until: cannot read/],
    [['tasks', 'list', '--status', 'failed,,completed'], /--status "failed,,completed" has an empty item/],
    [['tasks', 'export', '--status', 'failed'], /tasks export does not take --json[\s\S]*hint: .*--format jsonl/],
  ])('%j is a usage error (exit 2), nothing on stdout', async (args, message) => {
    const r = await cli(...args, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack
    expect(r.stderr).not.toMatch(/please report/);
    expect(r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  });

  test('a cursor goes on only under the filters that printed it', async () => {
    const first = json(await cli('tasks', 'list', '--status', 'failed', '--since', '30d', '--limit', '1', '--json'));
    expect(first.next).toEqual(expect.any(String));
    const same = json(await cli('tasks', 'list', '--status', 'failed', '--since', '30d', '--limit', '1', '--after', first.next, '--json'));
    expect(same.items).toHaveLength(1);
    for (const other of [['--status', 'completed', '--since', '30d'], ['--status', 'failed'], []]) {
      const r = await cli('tasks', 'list', ...other, '--after', first.next);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/invalid --after cursor: it was printed for other filters/);
    }
  });

  test('a missing task is exit 1 naming it; the tables survived every attempt above', async () => {
    const r = await cli('tasks', 'show', 'c0ffee00-0000-0000-0000-0000000000ff');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('task c0ffee00-0000-0000-0000-0000000000ff not found');
    const rows = await adminQuery('select count(*)::int as n from tasks', [], db.name);
    expect(rows[0].n).toBe(9);
  });

  test('seed generate refuses a non-empty database without --yes, then generates inside it', async () => {
    const refused = await cli('seed', 'generate', '--tasks', '500');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/add --yes/);
    const made = json(await cli('seed', 'generate', '--tasks', '500', '--contexts', '20', '--yes', '--json'));
    expect(made).toMatchObject({ tasks: 500, contexts: 20 });
    const rows = await adminQuery<{ n: number; failed_last: number }>(
      `select count(*)::int as n,
              count(*) filter (where status = 'failed' and history -> -1 -> 'parts' -> 0 ->> 'text' like 'Task execution failed: %')::int as failed_last
         from tasks`,
      [],
      db.name,
    );
    expect(rows[0].n).toBe(509);
    const failed = await adminQuery<{ n: number }>(`select count(*)::int as n from tasks where status = 'failed'`, [], db.name);
    expect(rows[0].failed_last).toBe(failed[0].n); // every failed task ends with the failure message
  });

  test('--schema: the read path (a plain pg pool) reads the chosen schema', async () => {
    expect((await cli('migrate', 'up', '--schema', 'agent_one')).code).toBe(0);
    expect((await cli('seed', 'run', '--schema', 'agent_one')).code).toBe(0);
    await adminQuery(`delete from agent_one.tasks where status <> 'failed'`, [], db.name);
    const doc = json(await cli('tasks', 'list', '--schema', 'agent_one', '--json'));
    expect(doc.items.map((t: { task_id: string }) => t.task_id)).toEqual(FAILED);
    const stats = json(await cli('stats', '--schema', 'agent_one', '--json'));
    expect(stats.tasks_by_status).toEqual({ pending: 0, running: 0, completed: 0, failed: 3, input_required: 0 });
  });

  test('--help shows examples', async () => {
    const r = await runCli(['tasks', 'list', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples:[\s\S]*bindu-db tasks list --status failed/);
  });
});

describe('inspection commands on the embedded database', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-db-inspect-cli-'));
  const cli = (...args: string[]) => runCli(args, { cwd: dir, env: { BINDU_DB_DATA_DIR: path.join(dir, 'db') } });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('as a user: migrate up, seed run, tasks list --status failed', async () => {
    expect((await cli('migrate', 'up')).code).toBe(0);
    expect((await cli('seed', 'run')).code).toBe(0);
    const r = await cli('tasks', 'list', '--status', 'failed');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/embedded database/);
    for (const id of FAILED) expect(r.stdout).toContain(id);
    expect(r.stdout).toMatch(/Task execution failed: TimeoutError/);
  }, 60_000);

  test('json shapes, paging, masking, export and stats', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const doc: { items: Array<{ task_id: string }>; next: string | null } = json(await cli('tasks', 'list', '--limit', '5', '--json', ...(after ? ['--after', after] : [])));
      seen.push(...doc.items.map((t) => t.task_id));
      after = doc.next;
    } while (after);
    expect(new Set(seen).size).toBe(9);
    const shown = json(await cli('tasks', 'show', WEBHOOK_TASK, '--json'));
    expect(shown.webhook_config.config.token).toBe('***');
    const exported = await cli('tasks', 'export');
    expect(exported.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).task_id).sort()).toEqual([...seen].sort());
    const stats = json(await cli('stats', '--json'));
    expect(stats.tasks_by_status.failed).toBe(3);
    const bad = await cli('tasks', 'list', '--status', 'nope');
    expect(bad.code).toBe(2);
  }, 60_000);
});

describe('hostile text and secrets stored in the database (PostgreSQL)', () => {
  let db: { name: string; url: string };
  const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: db.url } });
  const TASK = 'c0ffee00-0000-4000-8000-0000000000e1';
  const CONTEXT = 'c0ffee00-0000-4000-8000-0000000000e0';
  const hostile = 'done\u001b]0;PWNED\u0007\u001b[2J\rgone\u009b31m\u202e';
  const hook = 'https://bob:hunter2@hooks.example.com/n?token=tok_sekret&api_key=key_sekret&X-Amz-Signature=sig_sekret&id=7';

  beforeAll(async () => {
    db = await createTestDatabase('hostilecli');
    expect((await cli('migrate', 'up')).code).toBe(0);
    const message = { role: 'agent', parts: [{ kind: 'text', text: hostile }], kind: 'message' };
    await adminQuery('insert into contexts (context_id, metadata) values ($1, $2)', [CONTEXT, { title: hostile }], db.name);
    await adminQuery(`insert into tasks (task_id, context_id, status, history) values ($1, $2, 'failed', $3)`, [TASK, CONTEXT, JSON.stringify([message])], db.name);
    await adminQuery('insert into task_feedback (task_id, feedback, rating) values ($1, $2, 1)', [TASK, hostile], db.name);
    await adminQuery('insert into webhook_configs (task_id, config) values ($1, $2)', [TASK, { url: hook, headers: { Authorization: 'Bearer bearer_sekret' } }], db.name);
  });
  afterAll(async () => dropTestDatabase(db.name));

  // eslint-disable-next-line no-control-regex
  const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

  test.each([[['tasks', 'list']], [['tasks', 'show', TASK]], [['contexts', 'list']], [['contexts', 'show', CONTEXT]], [['feedback', 'list']], [['stats']]])(
    '%j prints control characters visibly, none raw',
    async (args) => {
      const r = await cli(...args);
      expect(r.code).toBe(0);
      expect(r.stdout.replace(/\n/g, '')).not.toMatch(controls);
      expect(r.stderr.replace(/\n/g, '')).not.toMatch(controls);
      if (args[0] !== 'stats') expect(r.stdout).toContain('\\u001b]0;PWNED\\u0007');
    },
  );

  // jsonb takes data nested deeper than JavaScript can walk (JSON.stringify fails near 5,000 levels).
  test('a history nested 6,000 levels deep: tasks show and --json say so in one line (exit 1), and the list still works', async () => {
    const DEEP = 'c0ffee00-0000-4000-8000-0000000000e2';
    const deep = `${'['.repeat(6000)}${']'.repeat(6000)}`;
    await adminQuery(`insert into tasks (task_id, context_id, status, history) values ($1, $2, 'failed', jsonb_build_array(jsonb_build_object('kind', 'message', 'role', 'agent', 'parts', jsonb_build_array(jsonb_build_object('kind', 'data', 'data', $3::jsonb)))))`, [DEEP, CONTEXT, deep], db.name);
    try {
      for (const args of [['tasks', 'show', DEEP], ['tasks', 'show', DEEP, '--json']]) {
        const r = await cli(...args);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/^error: a value read from the database is nested too deeply to show/m);
        expect(r.stderr).not.toContain('please report');
      }
      expect((await cli('tasks', 'list')).code).toBe(0);
    } finally {
      await adminQuery('delete from tasks where task_id = $1', [DEEP], db.name);
    }
  });

  test('--json, JSON Lines and CSV carry the text exactly', async () => {
    expect(JSON.parse((await cli('tasks', 'show', TASK, '--json')).stdout).history[0].parts[0].text).toBe(hostile);
    expect(JSON.parse((await cli('tasks', 'export')).stdout).history[0].parts[0].text).toBe(hostile);
    expect(JSON.parse((await cli('feedback', 'list', '--format', 'jsonl')).stdout).feedback).toBe(hostile);
    expect((await cli('feedback', 'list', '--format', 'csv')).stdout).toContain(hostile);
  });

  test('a webhook URL shows neither its userinfo nor its secret-named query values, in text and --json', async () => {
    const shown = 'https://***@hooks.example.com/n?token=***&api_key=***&X-Amz-Signature=***&id=7';
    const text = await cli('tasks', 'show', TASK);
    const doc = JSON.parse((await cli('tasks', 'show', TASK, '--json')).stdout);
    expect(doc.webhook_config.config.url).toBe(shown);
    expect(text.stdout).toContain(shown);
    for (const out of [text.stdout, JSON.stringify(doc)]) expect(out).not.toMatch(/sekret|hunter2|bob/);
  });
});
