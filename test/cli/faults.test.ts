import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { binPath, killWhen, repoRoot, runCli, shippedMigrations, startCli, until } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

// The project's migrations (after the package's). The second's up and down wait at a gate: the
// window a signal lands in, or in which the other runs queue, for as long as the test needs and no
// longer. On PostgreSQL the gate is an advisory lock the test holds (polled, so that lock_timeout
// does not apply); on the embedded database, whose one session holds every lock, a file the test
// makes in the data directory.
const GATE = 4343;
const LOCK_GATE = `do $$ begin while not pg_try_advisory_lock(${GATE}) loop perform pg_sleep(0.02); end loop; perform pg_advisory_unlock(${GATE}); end $$`;
const FILE_GATE = "do $$ begin while pg_stat_file('gate', true) is null loop perform pg_sleep(0.02); end loop; end $$";
function gatedMigrations(head: string, gateSql = LOCK_GATE): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gated-migrations-'));
  const write = (name: string, revises: string | null, up: string, down: string) =>
    fs.writeFileSync(
      path.join(dir, `${name}.ts`),
      `import type { Knex } from 'knex';\nexport const revises = ${JSON.stringify(revises)};\n` +
        `export async function up(knex: Knex): Promise<void> { ${up} }\nexport async function down(knex: Knex): Promise<void> { ${down} }\n`,
    );
  const gate = `await knex.raw(${JSON.stringify(gateSql)});`;
  write('20260101_0001_first', head, "await knex.raw('create table one (id int)');", "await knex.raw('drop table one');");
  write('20260101_0002_second', '20260101_0001_first', `await knex.raw('create table two (id int)'); ${gate}`, `await knex.raw('drop table two'); ${gate}`);
  write('20260101_0003_third', '20260101_0002_second', "await knex.raw('create table three (id int)');", "await knex.raw('drop table three');");
  return dir;
}

/** Closes the gate (the second migration waits at it) until the returned function opens it. */
async function closeGate(url: string): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  await holder.query('select pg_advisory_lock($1)', [GATE]);
  return () => holder.end();
}

let db: { name: string; url: string };
let env: Record<string, string>;
let shipped: string[];

beforeAll(async () => {
  db = await createTestDatabase('faults');
  shipped = await shippedMigrations();
  env = { DATABASE_URL: db.url, BINDU_DB_MIGRATIONS_DIR: gatedMigrations(shipped.at(-1)!) };
});
afterAll(async () => dropTestDatabase(db.name));

/** Whether the sessions of this application name end within 30 s (awaited, not slept on). */
async function gone(applicationName: string): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [row] = await adminQuery("select count(*)::int as n from pg_stat_activity where application_name like $1", [applicationName]);
    if (row.n === 0) return true;
    await new Promise((r) => setTimeout(r, 50)); // the poll interval, not a wait for time to pass
  }
  return false;
}

const applied = async () => (await adminQuery('select name from bindu_db_migrations order by id', [], db.name)).map((r) => r.name);
const tablesNow = async () => (await adminQuery("select table_name from information_schema.tables where table_schema = 'public' and table_name in ('one','two','three') order by 1", [], db.name)).map((r) => r.table_name);

describe('concurrency and faults on PostgreSQL', () => {
  // Each test starts from the state it needs, whatever the tests before it left.
  test('six concurrent `migrate up` apply each migration exactly once and all exit 0', async () => {
    expect((await runCli(['migrate', 'down', '--all', '--yes'], { env })).code).toBe(0);
    // The first run to take the lock stops at the gate until all six are connected, the others queued behind it.
    const open = await closeGate(db.url);
    const pending = Array.from({ length: 6 }, () => runCli(['migrate', 'up', '--json'], { env }));
    const connected = async () => (await adminQuery("select count(distinct application_name)::int as n from pg_stat_activity where datname = $1 and application_name like 'bindu-db migrate pid=%'", [db.name]))[0].n as number;
    await until('all six runs to be connected', async () => (await connected()) >= 6);
    await open();
    const runs = await Promise.all(pending);
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0]);
    const docs = runs.map((r) => JSON.parse(r.stdout));
    const appliedByRuns = docs.flatMap((d) => d.applied);
    expect(appliedByRuns.sort()).toEqual([...shipped, '20260101_0001_first', '20260101_0002_second', '20260101_0003_third'].sort());
    expect(docs.filter((d) => d.applied.length > 0)).toHaveLength(1);
    expect(await applied()).toEqual([...shipped, '20260101_0001_first', '20260101_0002_second', '20260101_0003_third']);
  });

  test('status shows the lock while a run holds it; --lock-timeout bounds the wait of another; unlock refuses a live holder', async () => {
    // A migration that holds the lock until every check below is done, however loaded the machine:
    // it waits for the test's gate (an advisory lock of its own), polling so that lock_timeout
    // does not apply.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'long-migration-'));
    const waitForGate = 'do $$ begin while not pg_try_advisory_lock(4242) loop perform pg_sleep(0.05); end loop; perform pg_advisory_unlock(4242); end $$';
    fs.writeFileSync(path.join(dir, '20260101_0001_long.ts'), `export const revises = '${shipped.at(-1)}';\n` + `export async function up(knex: any) { await knex.raw(${JSON.stringify(waitForGate)}); }\nexport async function down() {}\n`);
    const own = await createTestDatabase('lock');
    const gate = new pg.Client({ connectionString: own.url });
    await gate.connect();
    await gate.query('select pg_advisory_lock(4242)');
    const lockEnv = { DATABASE_URL: own.url, BINDU_DB_MIGRATIONS_DIR: dir };
    const holder = spawn(process.execPath, [binPath, 'migrate', 'up'], { cwd: repoRoot, env: { ...process.env, ...lockEnv } });
    const holderDone = new Promise((r) => holder.on('close', r));
    // Released however the checks end: the holder then finishes instead of waiting forever.
    try {
      let status: { locked: boolean; lock_holder?: { application_name: string } } = { locked: false };
      for (let i = 0; i < 100 && !status.locked; i++) {
        status = JSON.parse((await runCli(['migrate', 'status', '--json'], { env: lockEnv })).stdout);
      }
      expect(status.locked).toBe(true);
      expect(status.lock_holder?.application_name).toBe(`bindu-db migrate pid=${holder.pid} host=${os.hostname()}`);
      const impatient = await runCli(['migrate', 'up', '--lock-timeout', '0.2'], { env: lockEnv });
      expect(impatient.code).toBe(1);
      expect(impatient.stderr).toMatch(/another migration run still holds the lock after 0.2s/);
      const refused = await runCli(['migrate', 'unlock', '--yes'], { env: lockEnv });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/held by a running bindu-db process \(pid \d+\)/);
    } finally {
      await gate.end();
    }
    expect(await holderDone).toBe(0);
    expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env: lockEnv })).stdout)).toEqual({ applied: shipped.length + 1, pending: [], changed: [], locked: false });
    await dropTestDatabase(own.name);
  });

  test('unlock releases a lock whose bindu-db process is gone but whose session lives on (a half-open connection)', async () => {
    const own = await createTestDatabase('unlock');
    const lockEnv = { DATABASE_URL: own.url };
    const orphan = new pg.Client({ connectionString: own.url, application_name: `bindu-db migrate pid=999999 host=${os.hostname()}` });
    await orphan.connect();
    orphan.on('error', () => undefined); // it is about to be terminated
    await orphan.query("select pg_advisory_lock(hashtext('bindu-db:migrate'), hashtext('public'))");
    expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env: lockEnv })).stdout).locked).toBe(true);
    const noYes = await runCli(['migrate', 'unlock'], { env: lockEnv });
    expect(noYes.code).toBe(2);
    const r = await runCli(['migrate', 'unlock', '--yes', '--json'], { env: lockEnv });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ released: true });
    expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env: lockEnv })).stdout).locked).toBe(false);
    expect(JSON.parse((await runCli(['migrate', 'unlock', '--json'], { env: lockEnv })).stdout)).toEqual({ released: false });
    await orphan.end().catch(() => undefined);
    await dropTestDatabase(own.name);
  });

  test('SIGKILL during `up` leaves no lock and no half-applied migration; the next run finishes by itself', async () => {
    await runCli(['migrate', 'down', '--all', '--yes'], { env });
    const open = await closeGate(db.url);
    const killed = await killWhen(['migrate', 'up'], env, '→ 20260101_0002_second');
    await open(); // the orphaned session finishes the statement, finds no client, and rolls back
    expect(killed.signal).toBe('SIGKILL');
    // The first migration committed; the second was in flight, uncommitted, so invisible here
    // at once (its session may linger until the server notices: the next run waits for it).
    expect(await applied()).toEqual([...shipped, '20260101_0001_first']);
    expect(await tablesNow()).toEqual(['one']);
    const again = await runCli(['migrate', 'up', '--json', '--lock-timeout', '10'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).applied).toEqual(['20260101_0002_second', '20260101_0003_third']);
    expect(await tablesNow()).toEqual(['one', 'three', 'two']);
  });

  test('SIGKILL during `down` leaves the migration applied and intact; the next down completes', async () => {
    expect((await runCli(['migrate', 'up', '--lock-timeout', '10'], { env })).code).toBe(0);
    const open = await closeGate(db.url);
    const killed = await killWhen(['migrate', 'down', '--all', '--yes'], env, '→ 20260101_0002_second');
    await open();
    expect(killed.signal).toBe('SIGKILL');
    expect(await applied()).toEqual([...shipped, '20260101_0001_first', '20260101_0002_second']);
    expect(await tablesNow()).toEqual(['one', 'two']);
    const again = await runCli(['migrate', 'down', '--all', '--yes', '--json', '--lock-timeout', '10'], { env });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).reverted).toEqual(['20260101_0002_second', '20260101_0001_first', ...[...shipped].reverse()]);
    expect(await tablesNow()).toEqual([]);
  });

  test('Ctrl-C during `up` exits 130 and leaves the interrupted migration unapplied', async () => {
    expect((await runCli(['migrate', 'down', '--all', '--yes', '--lock-timeout', '10'], { env })).code).toBe(0);
    const open = await closeGate(db.url);
    const cli = startCli(['migrate', 'up'], { env });
    await until('the second migration to start', () => cli.stderr.includes('→ 20260101_0002_second'), { stop: cli.exited });
    cli.kill('SIGINT');
    // The gate stays closed until the run has exited: its migration never returns into it.
    const interrupted = { ...(await cli.exited), pid: cli.pid };
    await open();
    expect(interrupted.code).toBe(130);
    expect(await applied()).toEqual([...shipped, '20260101_0001_first']);
    expect(await tablesNow()).toEqual(['one']);
    // The lock goes with the interrupted run's session, once the server has seen it close.
    expect(await gone(`bindu-db migrate pid=${interrupted.pid} %`)).toBe(true);
    expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env })).stdout).locked).toBe(false);
  });
});

describe('Ctrl-C on the embedded database', () => {
  test('stops between migrations, exits 130, and leaves a directory the next run continues from', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-sigint-'));
    const dataDir = path.join(dir, 'db');
    const embedded = { BINDU_DB_DATA_DIR: dataDir, BINDU_DB_MIGRATIONS_DIR: gatedMigrations(shipped.at(-1)!, FILE_GATE) };
    const cli = startCli(['migrate', 'up'], { env: embedded });
    await until('the second migration to start', () => cli.stderr.includes('→ 20260101_0002_second'), { stop: cli.exited });
    // Its statement holds the process's one thread: the signal is seen once it ends, between migrations.
    cli.kill('SIGINT');
    fs.writeFileSync(path.join(dataDir, 'gate'), '');
    const interrupted = { ...(await cli.exited), stderr: cli.stderr };
    expect(interrupted.code).toBe(130);
    expect(interrupted.stderr).toMatch(/interrupted before 20260101_0003_third/);
    const status = JSON.parse((await runCli(['migrate', 'status', '--json'], { env: embedded })).stdout);
    expect(status).toEqual({ applied: shipped.length + 2, pending: ['20260101_0003_third'], changed: [], locked: false });
    expect((await runCli(['migrate', 'up'], { env: embedded })).code).toBe(0);
  });
});

