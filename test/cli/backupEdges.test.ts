import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { runCli, shippedMigrations } from '../helpers/cli.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';
import { FLEET, buildFleetDatabase } from '../helpers/serverDb.js';

// Edges of backup and restore. A schema name is whatever PostgreSQL allows once quoted: spaces,
// capitals, dots, quotes and pattern characters; every command must treat it as that exact name.

const SPACED = 'Agent X';
const ODD = 'we"ird.*';
const databases = databasesOfFile('be');
let dir: string;
let url: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-schema-names-'));
  url = (await databases.create('besrc')).url;
  for (const schema of [SPACED, ODD]) {
    expect((await runCli(['--schema', schema, 'migrate', 'up'], { env: { DATABASE_URL: url } })).code).toBe(0);
    expect((await runCli(['--schema', schema, 'seed', 'run'], { env: { DATABASE_URL: url } })).code).toBe(0);
  }
});
afterAll(async () => {
  await databases.dropAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a custom backup of both verifies on the server and restores into the embedded database, where each is read by its name', async () => {
  const file = path.join(dir, 'both.dump');
  const backup = await runCli(['backup', file, '--schema', SPACED, '--schema', ODD, '--json'], { env: { DATABASE_URL: url } });
  expect(backup.code).toBe(0);
  expect(JSON.parse(backup.stdout).schemas).toEqual([SPACED, ODD]);

  // The manifest's keys are "schema.table": a dot inside the schema name must not split it.
  const verify = await runCli(['backup', 'verify', file, '--json'], { env: { DATABASE_URL: url } });
  expect(verify.stderr).not.toMatch(/missing/);
  expect(verify.code).toBe(0);
  expect(JSON.parse(verify.stdout).tables[`${ODD}.tasks`]).toEqual({ expected: 9, restored: 9 });

  const dataDir = path.join(dir, 'embedded');
  const restore = await runCli(['--data-dir', dataDir, 'restore', file, '--yes']);
  expect(restore.stderr).not.toMatch(/does not exist/);
  expect(restore.code).toBe(0);
  for (const schema of [SPACED, ODD]) {
    const list = await runCli(['--data-dir', dataDir, '--schema', schema, 'tasks', 'list', '--json']);
    expect(list.stderr).not.toMatch(/error/);
    expect(JSON.parse(list.stdout).items).toHaveLength(9);
  }

  // Verified with no server: a scratch embedded instance, which must be closed for the process to end.
  const embeddedVerify = await runCli(['--data-dir', dataDir, 'backup', 'verify', file, '--json']);
  expect(embeddedVerify.signal).toBeNull();
  expect(embeddedVerify.code).toBe(0);
  expect(JSON.parse(embeddedVerify.stdout).scratch).toBe('embedded');
});

test('a name PostgreSQL could not hold, one with control characters, or a system schema is a usage error', async () => {
  for (const bad of ['', 'x'.repeat(64), 'a\u001bb', 'tab\there', 'information_schema', 'pg_catalog']) {
    const r = await runCli(['--schema', bad, 'stats'], { env: { DATABASE_URL: url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: invalid schema name/);
    expect(r.stderr).not.toContain('\u001b');
  }
});

test('a restore that fails says why in its first words: the ERROR, not the notices of --clean before it', async () => {
  const file = path.join(dir, 'plain.sql');
  expect((await runCli(['backup', file, '--schema', SPACED], { env: { DATABASE_URL: url } })).code).toBe(0);
  // A task row whose history is no longer JSON: the file passes the check, the server refuses it.
  const text = fs.readFileSync(file, 'utf8');
  const broken = text.replace(/("parts": \[\{"kind": "te)xt"/, '$1');
  expect(broken).not.toBe(text);
  fs.writeFileSync(file, broken);
  const target = await databases.create('betarget');
  const r = await runCli(['restore', file, '--clean', '--yes'], { env: { DATABASE_URL: target.url } });
  expect(r.code).toBe(1);
  // Named by the file's own line, as psql names it (the end of the rows being loaded), not by the
  // line of psql's input, which starts past the file's head.
  const lines = broken.split('\n');
  const endOfRows = lines.indexOf('\\.', lines.findIndex((l) => l.includes('"parts": [{"kind": "te, '))) + 1;
  expect(r.stderr).toMatch(new RegExp(`^error: psql failed \\(exit 3\\): plain\\.sql line ${endOfRows}: ERROR: +invalid input syntax for type json`, 'm'));
  expect(r.stderr).not.toMatch(/NOTICE/);
  // The same script gzipped (read through node, its head rewritten on the way): the same line.
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(broken));
  const gz = await runCli(['restore', `${file}.gz`, '--clean', '--yes'], { env: { DATABASE_URL: target.url } });
  expect(gz.code).toBe(1);
  expect(gz.stderr).toMatch(new RegExp(`^error: psql failed \\(exit 3\\): plain\\.sql\\.gz line ${endOfRows}: ERROR: +invalid input syntax for type json`, 'm'));
});

test("a Bindu server's database (Alembic's public, with its dynamic-SQL helper functions) restores into PostgreSQL, every table and function", async () => {
  const server = await databases.create('beserverpg');
  const opened = await openDatabase(loadConfig({ url: server.url }, {}));
  try {
    await buildFleetDatabase(opened.knex);
  } finally {
    await opened.close();
  }
  for (const format of ['plain.sql', 'custom.dump']) {
    const file = path.join(dir, `server-${format}`);
    expect((await runCli(['backup', file], { env: { DATABASE_URL: server.url } })).code).toBe(0);
    const target = await databases.create('betarget');
    const r = await runCli(['restore', file, '--yes'], { env: { DATABASE_URL: target.url } });
    expect(r.stderr).not.toMatch(/refused|error/);
    expect(r.code).toBe(0);
    const functions = await adminQuery<{ f: string }>("select proname as f from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' order by 1", [], target.name);
    expect(functions.map((x) => x.f)).toEqual(['create_bindu_tables_in_schema', 'drop_bindu_tables_in_schema', 'update_updated_at_column']);
  }
});

test("a Bindu server's database restored into the embedded database is read as it is, never migrated", async () => {
  const server = await databases.create('beserver');
  const opened = await openDatabase(loadConfig({ url: server.url }, {}));
  try {
    await buildFleetDatabase(opened.knex);
  } finally {
    await opened.close();
  }
  const file = path.join(dir, 'server.dump');
  expect((await runCli(['backup', file], { env: { DATABASE_URL: server.url } })).code).toBe(0);
  const dataDir = path.join(dir, 'server-embedded');
  expect((await runCli(['--data-dir', dataDir, 'restore', file, '--yes'])).code).toBe(0);
  // public holds the server's tables: reading commands work on it and on the agents' schemas.
  const stats = await runCli(['--data-dir', dataDir, 'stats', '--by-schema', '--json']);
  expect(stats.code).toBe(0);
  expect(JSON.parse(stats.stdout).items.map((r: { schema: string; layout: string }) => `${r.schema}:${r.layout}`).sort()).toEqual(
    ['public', FLEET.current, FLEET.old].sort().map((s) => `${s}:bindu-server`),
  );
  expect((await runCli(['--data-dir', dataDir, '--schema', FLEET.old, 'tasks', 'list', '--json'])).code).toBe(0);
  const up = await runCli(['--data-dir', dataDir, 'migrate', 'up']);
  expect(up.code).toBe(2);
  expect(up.stderr).toMatch(/holds Bindu server tables/);
});

test('the embedded database: a command whose automatic migration fails says why and ends (its instance is closed)', async () => {
  const migrations = fs.mkdtempSync(path.join(dir, 'project-'));
  fs.writeFileSync(path.join(migrations, '20990101_0001_bad.ts'), `export const revises = '${(await shippedMigrations()).at(-1)}';\nexport async function up() { throw new Error('boom in up'); }\nexport async function down() {}\n`);
  const r = await runCli(['--data-dir', path.join(dir, 'failing-migration'), '--migrations-dir', migrations, 'tasks', 'list']);
  expect(r.signal).toBeNull(); // not killed by runCli's timeout
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/boom in up/);
});

test('a role that cannot read every schema: the whole backup names what it cannot read and the --schema that would work, and writes nothing', async () => {
  const db = await databases.create('beperm');
  const role = `be_reader_${process.pid}`;
  await adminQuery(`create role ${role} login password 'Reader-Pass-1'`);
  try {
    await adminQuery(
      `create schema hidden; create table hidden.t (x int); create table public.shown (x int); create table public.closed (x int);
       create schema open; create table open.t (x int); grant usage on schema open to ${role};
       grant select on public.shown, open.t to ${role}`,
      [],
      db.name,
    );
    const u = new URL(db.url);
    u.username = role;
    u.password = 'Reader-Pass-1';
    const env = { DATABASE_URL: u.toString() };
    const out = fs.mkdtempSync(path.join(dir, 'perm-'));
    const whole = await runCli(['backup', path.join(out, 'all.sql')], { env });
    expect(whole.code).toBe(1);
    expect(whole.stderr).toMatch(new RegExp(`^error: the role ${role} cannot read all that a backup of the whole database holds: schema "hidden" \\(no USAGE\\), table "public"\\."closed" \\(no SELECT\\)$`, 'm'));
    expect(whole.stderr).toMatch(/^hint: back up what it can read with --schema open, or connect as a role that can read everything \(the owner\)$/m);
    expect(whole.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    expect(fs.readdirSync(out)).toEqual([]);
    const named = await runCli(['backup', path.join(out, 'hidden.sql'), '--schema', 'hidden'], { env });
    expect(named.code).toBe(1);
    expect(named.stderr).toMatch(new RegExp(`^error: the role ${role} cannot read all that a backup of schema "hidden" holds: schema "hidden" \\(no USAGE\\)$`, 'm'));
    const open = await runCli(['backup', path.join(out, 'open.sql'), '--schema', 'open'], { env });
    expect(open.stderr).not.toMatch(/error:/);
    expect(open.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'open.sql'), 'utf8')).toContain('CREATE TABLE open.t');
  } finally {
    await adminQuery(`drop owned by ${role}`, [], db.name);
    await adminQuery(`drop role ${role}`);
  }
});
