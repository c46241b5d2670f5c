import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { killWhen, runCli, shippedMigrations } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

let db: { name: string; url: string };
beforeAll(async () => {
  db = await createTestDatabase('seed');
});
afterAll(async () => dropTestDatabase(db.name));

const snapshot = async () => {
  const out: Record<string, unknown[]> = {};
  for (const [table, key] of [['contexts', 'context_id'], ['tasks', 'task_id'], ['task_feedback', 'feedback_id'], ['webhook_configs', 'task_id']]) {
    out[table] = await adminQuery(`select * from ${table} order by ${key}`, [], db.name);
  }
  return out;
};

describe('seed run', () => {
  test('on PostgreSQL it refuses while migrations are pending (never migrates a server implicitly)', async () => {
    const r = await runCli(['seed', 'run'], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`${(await shippedMigrations()).length} migrations pending`));
    expect(r.stderr).toMatch(/hint: run bindu-db migrate up first/);
  });

  test('loads a realistic dataset, and running it twice gives the same rows', async () => {
    expect((await runCli(['migrate', 'up'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    expect((await runCli(['seed', 'run'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    const first = await snapshot();
    expect((await runCli(['seed', 'run', '--json'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    expect(await snapshot()).toEqual(first);

    const tasks = first.tasks as { status: string; history: { role: string; parts: { text: string }[] }[] }[];
    expect(new Set(tasks.map((t) => t.status))).toEqual(new Set(['pending', 'running', 'completed', 'failed', 'input_required']));
    for (const failed of tasks.filter((t) => t.status === 'failed')) {
      const last = failed.history.at(-1)!;
      expect(last.role).toBe('agent');
      expect(last.parts[0].text).toMatch(/^Task execution failed: /);
    }
    const ratings = (first.task_feedback as { rating: number }[]).map((f) => f.rating);
    expect(Math.min(...ratings)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...ratings)).toBeLessThanOrEqual(5);
    expect((first.webhook_configs[0] as { config: { token: string } }).config.token).toMatch(/^whsec_/);
  });

  test('on the embedded database it brings the schema up to date first', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-emb-'));
    const r = await runCli(['seed', 'run'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'db') } });
    expect(r.code).toBe(0);
    const shipped = await shippedMigrations();
    expect(r.stderr).toContain(`created the embedded database, migrated up to ${shipped.at(-1)} (${shipped.length} migrations applied)`);
    expect(r.stdout).toMatch(/Loaded 1 seed file/);
  });
});

describe('a seed file of the project that fails', () => {
  test("says which file and why in one line, never asks for a bug report (the bug is the file's), and loads nothing", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-fail-'));
    fs.mkdirSync(path.join(dir, 'seeds'));
    fs.writeFileSync(path.join(dir, 'seeds', '001_ok.ts'), "export async function seed(knex: any) { await knex('contexts').insert({ context_id: '11111111-1111-4111-8111-111111111111' }); }\n");
    fs.writeFileSync(path.join(dir, 'seeds', '002_boom.ts'), "export async function seed() { throw new Error('the fixture file is missing'); }\n");
    fs.writeFileSync(path.join(dir, 'seeds', '003_sql.ts'), "export async function seed(knex: any) { await knex.raw('select 1/0'); }\n");
    const env = { BINDU_DB_DATA_DIR: path.join(dir, 'db'), BINDU_DB_SEEDS_DIR: path.join(dir, 'seeds') };
    const r = await runCli(['seed', 'run'], { env, cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: seed 002_boom\.ts failed: the fixture file is missing$/m);
    expect(r.stderr).toMatch(/^hint: fix the seed file: nothing was loaded/m);
    expect(r.stderr).not.toMatch(/please report|\n\s+at /);
    fs.rmSync(path.join(dir, 'seeds', '002_boom.ts'));
    const sql = await runCli(['seed', 'run'], { env, cwd: dir });
    expect(sql.stderr).toMatch(/^error: seed 003_sql\.ts failed: division by zero \(SQLSTATE 22012\)/m);
    const contexts = await runCli(['contexts', 'list', '--json'], { env, cwd: dir });
    expect(JSON.parse(contexts.stdout).items).toEqual([]);
  });
});

describe('seed run interrupted', () => {
  test('Ctrl-C while a seed file runs: the next file never starts, nothing is committed, exit 130', async () => {
    const own = await createTestDatabase('seedint');
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-int-'));
      fs.mkdirSync(path.join(dir, 'seeds'));
      fs.writeFileSync(
        path.join(dir, 'seeds', '001_slow.ts'),
        "export async function seed(knex: any) { await knex('contexts').insert({ context_id: '11111111-1111-4111-8111-111111111111' }); for (let i = 0; i < 4; i++) await knex.raw('select pg_sleep(0.3)'); }\n",
      );
      fs.writeFileSync(path.join(dir, 'seeds', '002_more.ts'), "export async function seed(knex: any) { await knex('contexts').insert({ context_id: '22222222-2222-4222-8222-222222222222' }); }\n");
      const env = { DATABASE_URL: own.url, BINDU_DB_SEEDS_DIR: path.join(dir, 'seeds') };
      expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
      const r = await killWhen(['seed', 'run'], env, '→ 001_slow.ts', 'SIGINT');
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/the seeds were rolled back; nothing was loaded/);
      expect(r.stderr).not.toContain('002_more.ts');
      expect(await adminQuery('select count(*)::int as n from contexts', [], own.name)).toEqual([{ n: 0 }]);
    } finally {
      await dropTestDatabase(own.name);
    }
  });
});

describe('a failing migration, from the command line', () => {
  test('exits 1 naming the migration and the Postgres error, and leaves the schema as it was', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failing-'));
    fs.writeFileSync(
      path.join(dir, '20260101_0001_bad.ts'),
      `export const revises = '${(await shippedMigrations()).at(-1)}';\n` + "export async function up(knex: any) { await knex.raw('create table partial_work (id int)'); await knex.raw('insert into partial_work values (1), (1/0)'); }\nexport async function down() {}\n",
    );
    const own = await createTestDatabase('failing');
    const r = await runCli(['migrate', 'up'], { env: { DATABASE_URL: own.url, BINDU_DB_MIGRATIONS_DIR: dir } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: migration 20260101_0001_bad failed: division by zero \(SQLSTATE 22012\)$/m);
    expect(r.stderr).toMatch(/^hint: in: insert into partial_work values/m);
    expect(await adminQuery("select to_regclass('public.partial_work') as t", [], own.name)).toEqual([{ t: null }]);
    await dropTestDatabase(own.name);
  });
});
