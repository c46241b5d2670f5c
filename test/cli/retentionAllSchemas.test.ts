import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';
import { FLEET, addOurSchema, buildFleetDatabase } from '../helpers/serverDb.js';

// Retention across a Bindu server's agents at once (--all-schemas), on a database shaped like the
// server writes it: Alembic-made public and two create_all-made agent schemas (one before
// owner_did), each with a task in every state an hour apart, plus an empty schema of ours.

const databases = databasesOfFile('ra');
const SERVER_SCHEMAS = ['public', FLEET.current, FLEET.old].sort();
let db: { name: string; url: string };
let dir: string;
const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: db.url } });
const json = async (...args: string[]) => {
  const r = await cli(...args, '--json');
  expect(r.stderr).not.toMatch(/^error/m);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
};

/** "schema/id" of every task of the server schemas that matches `where`. */
async function taskKeys(where = 'true'): Promise<string[]> {
  const keys: string[] = [];
  for (const s of SERVER_SCHEMAS) keys.push(...(await adminQuery<{ id: string }>(`select id::text from "${s}".tasks where ${where}`, [], db.name)).map((r) => `${s}/${r.id}`));
  return keys.sort();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-retention-all-'));
  db = await databases.create('rasrc');
  const opened = await openDatabase(loadConfig({ url: db.url }, {}));
  try {
    await buildFleetDatabase(opened.knex);
  } finally {
    await opened.close();
  }
  await addOurSchema(db.url, 'ours');
});
afterAll(async () => {
  await databases.dropAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('tasks prune --all-schemas archives and deletes the old finished tasks of every schema, and only those', async () => {
  const before = await taskKeys();
  const old = await taskKeys(`state in ('completed', 'failed', 'canceled', 'rejected') and updated_at < now() - interval '30 minutes'`);
  expect(old).toHaveLength(12); // four per schema; the failed task of 5 minutes ago stays

  const dry = await json('tasks', 'prune', '--older-than', '30m', '--all-schemas', '--dry-run');
  expect(dry.deleted).toEqual({ tasks: 12, task_feedback: 6, webhook_configs: 0 });
  expect(await taskKeys()).toEqual(before);

  const archive = path.join(dir, 'old.jsonl.gz');
  const done = await json('tasks', 'prune', '--older-than', '30m', '--all-schemas', '--archive', archive, '--batch-size', '3', '--yes');
  expect(done.deleted).toEqual({ tasks: 12, task_feedback: 6, webhook_configs: 0 });
  const lines = zlib.gunzipSync(fs.readFileSync(archive)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  expect(lines.map((l) => `${l.schema}/${l.task.id}`).sort()).toEqual(old);
  expect(lines.filter((l) => l.feedback.length > 0)).toHaveLength(6);
  // What is left is exactly what was there minus what was archived.
  expect(await taskKeys()).toEqual(before.filter((k) => !old.includes(k)));
});

test('tasks stuck --all-schemas pages across schemas, its cursor bound to the listing; tasks fail --stuck then shows the reason in each schema', async () => {
  const first = await json('tasks', 'stuck', '--older-than', '90m', '--all-schemas', '--limit', '5');
  expect(first.items).toHaveLength(5);
  const second = await json('tasks', 'stuck', '--older-than', '90m', '--all-schemas', '--limit', '5', '--after', first.next);
  const all = [...first.items, ...second.items];
  // working, input-required and auth-required (2, 3 and 4 hours old; submitted is 1 hour old) in each of the three server schemas.
  expect(all.map((t) => `${t.schema}/${t.task_id}`).sort()).toEqual(await taskKeys(`state in ('working', 'input-required', 'auth-required')`));
  expect(all.every((t) => t.age_seconds >= 90 * 60)).toBe(true);
  const foreign = await cli('tasks', 'list', '--all-schemas', '--after', first.next);
  expect(foreign.code).toBe(2);
  expect(foreign.stderr).toMatch(/invalid --after cursor/);

  const failed = await json('tasks', 'fail', '--stuck', '90m', '--all-schemas', '--reason', 'scheduler restarted', '--yes');
  expect(failed).toMatchObject({ failed: 9, left_alone: 0, locked: 0 });
  for (const schema of SERVER_SCHEMAS) {
    const prefix = schema === 'public' ? 'dd' : schema === FLEET.current ? 'aa' : 'cc';
    const shown = await cli('--schema', schema, 'tasks', 'show', `${prefix}000000-0000-4000-8000-000000000002`);
    expect(shown.stdout).toMatch(/^Failure\s+scheduler restarted$/m);
  }
  expect((await json('tasks', 'stuck', '--older-than', '90m', '--all-schemas')).items).toEqual([]);
});

test('tasks fail <ids> --all-schemas: an id is "not found" only when no schema holds it', async () => {
  const r = await json('tasks', 'fail', 'aa000000-0000-4000-8000-000000000001', 'dd000000-0000-4000-8000-000000000001', 'ee000000-0000-4000-8000-000000000001', '--all-schemas', '--dry-run');
  expect(r).toMatchObject({ failed: 2, not_found: 1, dry_run: true });
});
