import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { bytesUnder } from '../../src/lib/readDirectory.js';
import { runCli, startCli, until } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { pooledUrl } from '../helpers/pooler.js';

// Ctrl-C and SIGTERM during long work, as an operator sends them: the embedded database (whose
// statements hold the process's only thread) stops between pieces, PostgreSQL cancels what it
// runs. Each signal goes once a condition is seen (rows written, output, a file), never after a sleep.

const embeddedDir = (prefix: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), prefix)), 'db');
const items = async (env: Record<string, string>, what: 'tasks' | 'contexts') => {
  const r = await runCli([what, 'list', '--json', '--limit', '5'], { env });
  expect(r.code).toBe(0); // the directory opens again, intact
  return (JSON.parse(r.stdout) as { items: unknown[] }).items.length;
};

describe('seed generate interrupted on the embedded database', () => {
  test.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)('%s while tasks go in exits %i and leaves nothing: one transaction, rolled back', async (signal, code) => {
    const dir = embeddedDir('seed-int-');
    const env = { BINDU_DB_DATA_DIR: dir };
    expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
    const before = bytesUnder(path.join(dir, 'base'));
    const cli = startCli(['seed', 'generate', '--tasks', '40000', '--contexts', '100'], { env });
    // Rows are going in once the tables' files have grown by a few megabytes.
    await until('rows to be written', () => bytesUnder(path.join(dir, 'base')) > before + 4_000_000, { stop: cli.exited, limitMs: 120_000 });
    cli.kill(signal);
    expect((await cli.exited).code).toBe(code);
    expect(cli.stderr).toMatch(/nothing was generated \(one transaction, rolled back\)/);
    expect(cli.stdout).toBe('');
    expect(await items(env, 'tasks')).toBe(0);
    expect(await items(env, 'contexts')).toBe(0);
  });
});

describe('long reads interrupted on the embedded database', () => {
  const TASKS = 40_000;
  let env: Record<string, string>;
  beforeAll(async () => {
    env = { BINDU_DB_DATA_DIR: embeddedDir('read-int-') };
    expect((await runCli(['seed', 'generate', '--tasks', String(TASKS)], { env, timeoutMs: 300_000 })).code).toBe(0);
  }, 300_000);

  test('tasks export stops between batches on Ctrl-C: exit 130, every line written whole', async () => {
    const cli = startCli(['tasks', 'export'], { env });
    await until('the first lines on stdout', () => cli.stdout.includes('\n'), { stop: cli.exited });
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(cli.stderr).toMatch(/^error: cancelled: the export stopped between two batches/m);
    const lines = cli.stdout.split('\n');
    expect(lines.pop()).toBe(''); // ends with a whole line
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(lines.length).toBeLessThan(TASKS);
  });

  test.each([['plain', 'b.sql'], ['gzip', 'b.sql.gz']])('a %s backup stops on Ctrl-C: exit 130, no file and no .partial left', async (_format, name) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'backup-int-'));
    const growing = () => fs.readdirSync(out).some((f) => f.endsWith('.partial') && fs.statSync(path.join(out, f)).size > 0);
    const cli = startCli(['backup', path.join(out, name)], { env });
    await until('the dump to be written', growing, { stop: cli.exited });
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(cli.stderr).toMatch(/^error: cancelled: no backup file was written$/m);
    expect(cli.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(fs.readdirSync(out)).toEqual([]);
    // The database it read is untouched and opens again.
    expect(await items(env, 'tasks')).toBe(5);
  });


  test('tasks prune --archive stops between batches on Ctrl-C: exit 130, the batch in flight done and reported, its tasks archived; a rerun goes on', async () => {
    const archive = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'prune-int-')), 'old.jsonl');
    // One cutoff for every run: a relative one would take in tasks that age past it meanwhile.
    const prune = ['tasks', 'prune', '--older-than', new Date(Date.now() - 86_400_000).toISOString(), '--batch-size', '4000', '--yes', '--json'];
    const planned = JSON.parse((await runCli([...prune, '--dry-run'], { env })).stdout).deleted.tasks as number;
    expect(planned).toBeGreaterThan(8000);
    const cli = startCli([...prune, '--archive', archive], { env });
    // The archive grows with each batch, before that batch's delete commits.
    await until('a batch to be archived', () => fs.existsSync(archive) && fs.statSync(archive).size > 0, { stop: cli.exited });
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    const first = JSON.parse(cli.stdout) as { deleted: { tasks: number }; batches: number };
    expect(first.batches).toBeGreaterThan(0);
    expect(first.deleted.tasks).toBeLessThan(planned);
    expect(fs.readFileSync(archive, 'utf8').trim().split('\n')).toHaveLength(first.deleted.tasks);
    expect(cli.stderr).toMatch(/interrupted: .*run the same command again to go on/);
    const again = await runCli(prune, { env });
    expect(again.code).toBe(0);
    expect(first.deleted.tasks + JSON.parse(again.stdout).deleted.tasks).toBe(planned);
  });
});

describe('seed generate interrupted on PostgreSQL', () => {
  let own: { name: string; url: string };
  beforeAll(async () => {
    own = await createTestDatabase('seedint');
    expect((await runCli(['migrate', 'up'], { env: { DATABASE_URL: own.url } })).code).toBe(0);
  });
  afterAll(async () => dropTestDatabase(own.name));

  // The task inserts begin `with s0 as` (pg_stat_activity keeps only a statement's first kilobyte).
  const TASK_INSERT = 'with s0 as%';
  /** Our sessions in this state whose (last) statement is like `query`: by default any of the generator's. */
  const ours = async (state: string, query?: string) =>
    (
      await adminQuery(
        "select count(*)::int as n from pg_stat_activity where datname = $1 and state like $2 and (query like coalesce($3, '%generate_series%') or query like coalesce($3, $4))",
        [own.name, state, query ?? null, TASK_INSERT],
      )
    )[0].n as number;

  test.each([
    ['directly', () => own.url],
    ['through PgBouncer (transaction mode)', () => pooledUrl(own.url)],
  ])('%s: Ctrl-C exits 130 once the running inserts are cancelled; nothing of ours runs on', async (_how, url) => {
    const [{ n: before }] = await adminQuery('select count(*)::int as n from tasks', [], own.name);
    const cli = startCli(['seed', 'generate', '--tasks', '5000000', '--contexts', '1000', '--yes'], { env: { DATABASE_URL: url() } });
    await until('the task inserts to run on the server', async () => (await ours('active', TASK_INSERT)) > 0, { stop: cli.exited });
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    // At the moment it exits, no statement of ours is left running: they were cancelled, not
    // left for the server to notice the closed connection.
    expect(await ours('active')).toBe(0);
    expect(cli.stderr).toMatch(/^error: cancelled: the contexts, and the slices of tasks that had committed, stay/m);
    // The sessions themselves close as the pool ends (awaited, bounded).
    await until('our sessions to close', async () => (await ours('%')) === 0);
    const [{ n: after }] = await adminQuery('select count(*)::int as n from tasks', [], own.name);
    expect(after - before).toBeLessThan(5_000_000);
  });
});
