import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';
import { pooledUrl } from '../helpers/pooler.js';

// As an operator with Neon's pooled connection string runs it: PgBouncer in transaction mode in
// front of the server, DATABASE_URL naming it, DIRECT_DATABASE_URL set or not.

const databases = databasesOfFile('poolercli');
let db: { name: string; url: string };
let pooled: string;
const masked = (url: string) => url.replace(/:[^:@/]*@/, ':***@');
const migrationLog = async () => adminQuery(`select 1 from pg_catalog.pg_class where relname = 'bindu_db_migrations'`, [], db.name);

beforeAll(async () => {
  db = await databases.create();
  pooled = pooledUrl(db.url);
});
afterAll(() => databases.dropAll());

describe('a pooled DATABASE_URL', () => {
  test('migrate up without DIRECT_DATABASE_URL: exit 2, one line naming it, nothing done', async () => {
    const r = await runCli(['migrate', 'up'], { env: { DATABASE_URL: pooled } });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([`error: ${masked(pooled)} is pooled (PgBouncer) and migrate up needs a session: set DIRECT_DATABASE_URL (or --direct-url) to the direct endpoint`]);
    expect(await migrationLog()).toEqual([]);
  });

  test('migrate up with DIRECT_DATABASE_URL runs there; reads go through the pooler and say so', async () => {
    const env = { DATABASE_URL: pooled, DIRECT_DATABASE_URL: db.url };
    const up = await runCli(['migrate', 'up'], { env });
    expect(up.code).toBe(0);
    expect(up.stderr).toContain(`using ${masked(db.url)}\n`);
    const status = await runCli(['migrate', 'status', '--json'], { env });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ pending: [], locked: false });
    expect(status.stderr).toContain(`using ${masked(pooled)} (pooled: PgBouncer)`);
    const history = await runCli(['migrate', 'history', '--json'], { env });
    expect(history.code).toBe(0);
    expect(JSON.parse(history.stdout).items.every((m: { state: string }) => m.state === 'applied')).toBe(true);
    const password = decodeURIComponent(new URL(db.url).password);
    expect(up.stdout + up.stderr + status.stdout + status.stderr).not.toContain(password);
    // --direct-url does the same as the variable.
    const flag = await runCli(['migrate', 'up', '--direct-url', db.url, '--json'], { env: { DATABASE_URL: pooled } });
    expect({ code: flag.code, out: JSON.parse(flag.stdout) }).toEqual({ code: 0, out: { batch: null, applied: [] } });
  });

  test('backup and restore without DIRECT_DATABASE_URL: exit 2, no file written, nothing restored', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pooler-backup-'));
    const file = path.join(dir, 'b.sql');
    const backup = await runCli(['backup', file], { env: { DATABASE_URL: pooled } });
    expect(backup.code).toBe(2);
    expect(backup.stderr).toMatch(/is pooled \(PgBouncer\) and backup needs a session: set DIRECT_DATABASE_URL/);
    expect(fs.readdirSync(dir)).toEqual([]);
    fs.writeFileSync(file, 'create table public.restored (x int);\n');
    const restore = await runCli(['restore', file, '--yes'], { env: { DATABASE_URL: pooled } });
    expect(restore.code).toBe(2);
    expect(restore.stderr).toMatch(/restore needs a session: set DIRECT_DATABASE_URL/);
    expect(await adminQuery(`select 1 from pg_catalog.pg_class where relname = 'restored'`, [], db.name)).toEqual([]);
  });

  test('backup with DIRECT_DATABASE_URL dumps from the direct endpoint', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pooler-backup-')), 'b.sql');
    const r = await runCli(['backup', file, '--json'], { env: { DATABASE_URL: pooled, DIRECT_DATABASE_URL: db.url } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`using ${masked(db.url)}`);
    expect(fs.readFileSync(file, 'utf8')).toContain('CREATE TABLE public.tasks');
    // The summary names the endpoint dumped from, not the pooler.
    const text = await runCli(['backup', file, '--force'], { env: { DATABASE_URL: pooled, DIRECT_DATABASE_URL: db.url } });
    expect(text.stdout).toContain(`Backed up ${masked(db.url)} to ${file}`);
  });

  test('a DIRECT_DATABASE_URL without a password uses PGPASSWORD, as the tools and DATABASE_URL do', async () => {
    const direct = new URL(db.url);
    const password = decodeURIComponent(direct.password);
    direct.password = '';
    const r = await runCli(['migrate', 'up'], { env: { DATABASE_URL: pooled, DIRECT_DATABASE_URL: direct.toString(), PGPASSWORD: password } });
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    const wrong = await runCli(['migrate', 'up'], { env: { DATABASE_URL: pooled, DIRECT_DATABASE_URL: direct.toString(), PGPASSWORD: 'not-the-password' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^hint: check the user name in DIRECT_DATABASE_URL and the password in PGPASSWORD$/m);
  });

  test('a wrong password through PgBouncer reads like one through PostgreSQL', async () => {
    const wrong = new URL(pooled);
    wrong.password = 'not-the-password';
    const r = await runCli(['tasks', 'list'], { env: { DATABASE_URL: wrong.toString() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot connect to .*: .*authentication failed\nhint: check the user name and password in DATABASE_URL\n$/);
    expect(r.stderr).not.toContain('not-the-password');
  });

  test('--ddl-lock-timeout and BINDU_DB_DDL_LOCK_TIMEOUT take seconds; anything else is a usage error', async () => {
    const flag = await runCli(['migrate', 'up', '--ddl-lock-timeout', 'soon'], { env: { DATABASE_URL: db.url } });
    expect({ code: flag.code, err: flag.stderr.trim() }).toEqual({ code: 2, err: 'error: --ddl-lock-timeout must be a number of seconds, not "soon"' });
    const env = await runCli(['migrate', 'up'], { env: { DATABASE_URL: db.url, BINDU_DB_DDL_LOCK_TIMEOUT: '-1' } });
    expect(env.code).toBe(2);
  });
});
