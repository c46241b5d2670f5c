import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { AGENT_SCHEMAS } from '../fixtures/serverLayout.js';
import { binPath, runCli, runOnTerminal, startCli, until } from '../helpers/cli.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { buildServerDatabase } from '../helpers/serverDb.js';

// The retention commands as an operator runs them: confirmation rules, the --json contract,
// Ctrl-C between batches and the run after it, and `tasks fail` read back by `tasks show`.

const TASKS = 50;
const BATCH = 10;
const taskId = (n: number) => `a1000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describe('retention commands', () => {
  let db: { name: string; url: string };
  let sql: pg.Client;
  const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: db.url } });
  const ours = (...args: string[]) => cli('--schema', 'bindu', ...args);
  const count = async () => Number((await sql.query(`select count(*) from bindu.tasks where status = 'completed'`)).rows[0].count);

  /** 50 finished tasks 10 days old, created a minute apart, each with one feedback row. */
  async function fill(): Promise<void> {
    await sql.query('truncate bindu.contexts cascade');
    await sql.query(`insert into bindu.contexts (context_id) values ('c1000000-0000-4000-8000-000000000001')`);
    for (let i = 0; i < TASKS; i++) {
      await sql.query(
        `insert into bindu.tasks (task_id, context_id, status, created_at, updated_at)
         values ($1, 'c1000000-0000-4000-8000-000000000001', 'completed', now() - interval '10 days' - make_interval(mins => $2), now() - interval '10 days' - make_interval(mins => $2))`,
        [taskId(i), TASKS - i],
      );
      await sql.query(`insert into bindu.task_feedback (task_id, feedback, rating) values ($1, 'ok', 4)`, [taskId(i)]);
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase('retentioncli');
    const opened = await openDatabase(loadConfig({ url: db.url }, {}));
    try {
      await buildServerDatabase(opened.knex);
    } finally {
      await opened.close();
    }
    expect((await ours('migrate', 'up')).code).toBe(0);
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
  });
  afterAll(async () => {
    await sql.end();
    await dropTestDatabase(db.name);
  });

  test('with no terminal and no --yes it shows what would go, refuses (exit 2) and deletes nothing', async () => {
    await fill();
    const r = await ours('tasks', 'prune', '--older-than', '7d');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bindu\s+50\s+50\s+0/);
    expect(r.stderr).toMatch(/refusing to delete 50 tasks \(50 feedback, 0 webhook configs\).*\n.*--yes/);
    expect(await count()).toBe(TASKS);
    expect((await ours('tasks', 'prune', '--older-than', '7d', '--status', 'running', '--yes')).code).toBe(2);
    expect((await ours('contexts', 'prune', '--older-than', '7d', '--yes')).stderr).toMatch(/--empty/);
  });

  test('on a terminal it asks; "no" exits 130 and changes nothing, "yes" deletes', async () => {
    await fill();
    const env = { DATABASE_URL: db.url };
    const no = await runOnTerminal(['--schema', 'bindu', 'tasks', 'prune', '--older-than', '7d'], { env, prompt: /Delete 50 tasks/, keys: 'n\r' });
    expect(no.code).toBe(130);
    expect(await count()).toBe(TASKS);
    const yes = await runOnTerminal(['--schema', 'bindu', 'tasks', 'prune', '--older-than', '7d'], { env, prompt: /Delete 50 tasks/, keys: 'y\r' });
    expect(yes.code).toBe(0);
    expect(yes.text).toMatch(/Deleted 50 tasks \(50 feedback, 0 webhook configs\) in 1 batch\./);
    expect(await count()).toBe(0);
  });

  test('--json is the documented document, dry run or not', async () => {
    await fill();
    const dry = await ours('tasks', 'prune', '--older-than', '7d', '--dry-run', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual({ deleted: { tasks: 50, task_feedback: 50, webhook_configs: 0 }, batches: 1, archive: null, dry_run: true });
    expect(await count()).toBe(TASKS);
    // A dry run with an archive says what it would do, and writes none.
    const archive = path.join(os.tmpdir(), `dry-${process.pid}.jsonl`);
    const dryText = await ours('tasks', 'prune', '--older-than', '7d', '--dry-run', '--archive', archive);
    expect(dryText.stdout).toMatch(/^Would delete 50 tasks \(50 feedback, 0 webhook configs\) in 1 batch; would archive to \S+dry-\d+\.jsonl\.$/m);
    expect(fs.existsSync(archive)).toBe(false);
    const done = await ours('tasks', 'prune', '--older-than', '7d', '--json', '--yes', '--batch-size', '20');
    expect(JSON.parse(done.stdout)).toEqual({ deleted: { tasks: 50, task_feedback: 50, webhook_configs: 0 }, batches: 3, archive: null, dry_run: false });
  });

  test.each([
    ['acknowledged', 'stopping after the batch in flight'],
    // Past the grace period after which an interrupted command is otherwise ended.
    ['still waiting past the grace period', 'still waiting for the work in flight to end whole'],
  ])('Ctrl-C stops between batches (exit 130) reporting what was deleted, the batch in flight released once the interrupt is %s; running again goes on', async (_when, released) => {
    await fill();
    // Another session holds a feedback row of the second batch's first task: that batch's
    // delete waits for it, so the interrupt lands while a batch is in flight.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await holder.query('begin');
    await holder.query('select 1 from bindu.task_feedback where task_id = $1 for update', [taskId(BATCH)]);
    const cli = startCli(['--schema', 'bindu', 'tasks', 'prune', '--older-than', '7d', '--batch-size', String(BATCH), '--yes', '--json'], { env: { DATABASE_URL: db.url } });
    try {
      await until('the first batch to commit and the second to wait', async () => {
        // Asked outside the holder's transaction, which would keep seeing its first snapshot of the activity.
        const waiting = await sql.query(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`);
        return waiting.rows[0].n > 0 && (await count()) === TASKS - BATCH;
      }, { stop: cli.exited });
      cli.kill('SIGINT');
      await until(`"${released}" on stderr`, () => cli.stderr.includes(released), { stop: cli.exited });
    } finally {
      await holder.query('rollback');
      await holder.end();
    }
    expect((await cli.exited).code).toBe(130);
    const report = JSON.parse(cli.stdout);
    expect(report).toEqual({ deleted: { tasks: 2 * BATCH, task_feedback: 2 * BATCH, webhook_configs: 0 }, batches: 2, archive: null, dry_run: false });
    expect(cli.stderr).toMatch(/interrupted: .*run the same command again to go on/);
    expect(await count()).toBe(TASKS - 2 * BATCH);
    const again = await ours('tasks', 'prune', '--older-than', '7d', '--batch-size', String(BATCH), '--yes', '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).deleted.tasks).toBe(TASKS - 2 * BATCH);
    expect(await count()).toBe(0);
  });

  // A disk that fills up takes a write part-way: the kernel writes what fits and says how much.
  // A file-size limit (ulimit -f, with SIGXFSZ ignored) does the same with no disk to fill.
  test('an archive that runs out of room stops the prune (exit 1): every deleted task is in the archive, whole; the rest stay', async () => {
    await fill();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-archive-full-'));
    try {
      const file = path.join(dir, 'old.jsonl');
      // Room for about two and a half batches of these tasks (512-byte blocks).
      const run = spawnSync('sh', ['-c', 'trap "" XFSZ; ulimit -f 12; exec "$@"', 'sh', process.execPath, binPath, '--schema', 'bindu', 'tasks', 'prune', '--older-than', '7d', '--batch-size', String(BATCH), '--archive', file, '--yes'], {
        env: { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^error: cannot write the archive .*old\.jsonl: EFBIG.*\nhint: .*not deleted/m);
      expect(run.stderr).not.toMatch(/please report|\n\s+at /);
      const lines = fs.readFileSync(file, 'utf8').split('\n');
      expect(lines.pop()).toBe(''); // whole lines only
      const archived = lines.map((l) => (JSON.parse(l) as { task: { task_id: string } }).task.task_id);
      const left = (await sql.query(`select task_id::text as id from bindu.tasks where status = 'completed'`)).rows.map((r: { id: string }) => r.id);
      expect(archived.length).toBeGreaterThan(0);
      expect(left.length).toBeGreaterThan(0);
      expect([...archived, ...left].sort()).toEqual(Array.from({ length: TASKS }, (_, i) => taskId(i)).sort());
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('tasks stuck --json is a list; tasks fail marks them failed and tasks show gives the reason, on both layouts', async () => {
    const echo = (...args: string[]) => cli('--schema', AGENT_SCHEMAS.echo, ...args);
    const stuck = await echo('tasks', 'stuck', '--older-than', '150m', '--json');
    expect(stuck.code).toBe(0);
    const doc = JSON.parse(stuck.stdout) as { items: Array<{ task_id: string; state: string; age_seconds: number }>; next: string | null };
    expect(Object.keys(doc).sort()).toEqual(['items', 'next']);
    expect(doc.items.map((t) => t.state).sort()).toEqual(['auth-required', 'input-required']);
    expect(doc.items.every((t) => t.age_seconds >= 150 * 60)).toBe(true);

    const failed = await echo('tasks', 'fail', '--stuck', '150m', '--reason', 'Scheduler restarted; resubmit', '--yes', '--json');
    expect(failed.code).toBe(0);
    expect(JSON.parse(failed.stdout)).toEqual({ failed: 2, left_alone: 0, locked: 0, not_found: 0, batches: 1, dry_run: false });
    for (const t of doc.items) {
      const shown = await echo('tasks', 'show', t.task_id);
      expect(shown.stdout).toMatch(/^Status\s+failed/m);
      expect(shown.stdout).toMatch(/^Failure\s+Scheduler restarted; resubmit$/m);
      const listed = JSON.parse((await echo('tasks', 'list', '--status', 'failed', '--json')).stdout) as { items: Array<{ task_id: string; failure_reason: string }> };
      expect(listed.items.find((x) => x.task_id === t.task_id)?.failure_reason).toBe('Scheduler restarted; resubmit');
    }
    expect(JSON.parse((await echo('tasks', 'stuck', '--older-than', '150m', '--json')).stdout).items).toEqual([]);

    await fill();
    await sql.query(`update bindu.tasks set status = 'running' where task_id = $1`, [taskId(0)]);
    const one = await ours('tasks', 'fail', taskId(0), taskId(1), '--reason', 'Stopped by the operator', '--yes');
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/Marked 1 task failed; 1 already finished \(left alone\)\./);
    expect((await ours('tasks', 'show', taskId(0))).stdout).toMatch(/^Failure\s+Stopped by the operator$/m);
    expect((await ours('tasks', 'fail', 'nope', '--yes')).code).toBe(2);
    // Only ids no table holds (a typo): an error, as tasks show says it, not "nothing to do" with exit 0.
    const typo = await ours('tasks', 'fail', '00000000-0000-4000-8000-00000000dead', '--yes');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^error: task 00000000-0000-4000-8000-00000000dead not found$/m);
  });
});
