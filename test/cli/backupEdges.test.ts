import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { databasesOfFile } from '../helpers/db.js';

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

test('a name PostgreSQL could not hold, or one with control characters, is a usage error', async () => {
  for (const bad of ['', 'x'.repeat(64), 'a\u001bb', 'tab\there']) {
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
  expect(r.stderr).toMatch(/^error: psql failed \(exit 3\): psql:<stdin>:\d+: ERROR: +invalid input syntax for type json/m);
  expect(r.stderr).not.toMatch(/NOTICE/);
});
