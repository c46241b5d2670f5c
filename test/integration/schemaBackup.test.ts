import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';
import { buildServerDatabase } from '../helpers/serverDb.js';
import { AGENT_SCHEMAS } from '../fixtures/serverLayout.js';

// Backup and restore of one schema of a database in Bindu's server layout (issue 5, item 4):
// restored into an empty database, or beside other agents' schemas, which stay untouched.

const TABLES = ['contexts', 'tasks', 'task_feedback', 'webhook_configs'];
const { echo, research, legacy } = AGENT_SCHEMAS;
let source: { name: string; url: string };
let dir: string;

const databases = databasesOfFile('sb');
const newDb = databases.create;

// Each layout is built once (the first caller builds it); every database of it is a fresh copy.
const templates = new Map<boolean, Promise<string>>();
async function serverDb(prefix: string, opts: { legacyPublic?: boolean } = {}) {
  const legacyPublic = opts.legacyPublic ?? false;
  if (!templates.has(legacyPublic)) {
    templates.set(
      legacyPublic,
      (async () => {
        const db = await newDb('sbtemplate');
        const opened = await openDatabase(loadConfig({ url: db.url }, {}));
        try {
          await buildServerDatabase(opened.knex, { legacyPublic });
        } finally {
          await opened.close();
        }
        return db.name;
      })(),
    );
  }
  return newDb(prefix, await templates.get(legacyPublic));
}

/** Every row of the schema's four tables (plus alembic_version when there) as JSON text, or null for a missing table. */
async function snapshot(database: string, schema: string): Promise<Record<string, string[] | null>> {
  const out: Record<string, string[] | null> = {};
  for (const table of [...TABLES, 'alembic_version']) {
    const name = `"${schema}".${table}`;
    const [{ r }] = await adminQuery<{ r: boolean }>('select to_regclass($1) is not null as r', [name], database);
    out[table] = r ? (await adminQuery<{ j: string }>(`select row_to_json(t)::text as j from ${name} t order by 1`, [], database)).map((x) => x.j) : null;
  }
  return out;
}

async function schemasOf(database: string): Promise<string[]> {
  const rows = await adminQuery<{ s: string }>("select nspname as s from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1", [], database);
  return rows.map((r) => r.s);
}

const pg = (db: { url: string }) => ({ env: { DATABASE_URL: db.url } });
const FORMATS = [['plain', 'echo.sql'], ['custom', 'echo.dump']] as const;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-schema-backup-'));
  source = await serverDb('sbsrc', { legacyPublic: true });
  for (const [, name] of FORMATS) {
    const r = await runCli(['backup', path.join(dir, name), '--schema', echo, '--json'], pg(source));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
  }
});
afterAll(async () => {
  await databases.dropAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe.each(FORMATS)('one agent schema, %s', (_format, name) => {
  test('the dump holds that schema only', () => {
    if (name.endsWith('.sql')) {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      expect(text).toContain(`CREATE SCHEMA ${echo};`);
      expect(text).not.toContain(research);
      expect(text).not.toMatch(/Schema: public;/);
    }
  });

  test('restores into an empty database: that schema row for row, no other', async () => {
    const target = await newDb();
    const r = await runCli(['restore', path.join(dir, name), '--yes', '--json'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 9 });
    expect(await snapshot(target.name, echo)).toEqual(await snapshot(source.name, echo));
    expect((await snapshot(target.name, echo)).tasks).toHaveLength(9);
    expect(await schemasOf(target.name)).toEqual([echo, 'public'].sort());
    expect(await snapshot(target.name, 'public')).toEqual({ contexts: null, tasks: null, task_feedback: null, webhook_configs: null, alembic_version: null });
  });

  test('restores beside other agents\' schemas, leaving them untouched; over itself only with --clean', async () => {
    const target = await serverDb('sbside', { legacyPublic: true });
    await adminQuery(`drop schema "${echo}" cascade`, [], target.name);
    // Make the neighbours differ from the source, so that "untouched" is visible.
    await adminQuery(`delete from "${research}".tasks where state = 'failed'`, [], target.name);
    const before = { research: await snapshot(target.name, research), legacy: await snapshot(target.name, legacy), public: await snapshot(target.name, 'public') };
    expect(before.research.tasks).toHaveLength(7);

    const file = path.join(dir, name);
    const r = await runCli(['restore', file, '--yes'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(await snapshot(target.name, echo)).toEqual(await snapshot(source.name, echo));
    const untouched = async () => {
      expect(await snapshot(target.name, research)).toEqual(before.research);
      expect(await snapshot(target.name, legacy)).toEqual(before.legacy);
      expect(await snapshot(target.name, 'public')).toEqual(before.public);
    };
    await untouched();

    // Over the same schema: refused without --clean (exit 2, nothing changed) …
    await adminQuery(`update "${echo}".tasks set state = 'canceled'`, [], target.name);
    const changed = await snapshot(target.name, echo);
    const refused = await runCli(['restore', file, '--yes'], pg(target));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`already holds Bindu tables in schema "${echo}"`);
    expect(refused.stderr).toContain('bindu-server layout');
    expect(refused.stderr).toMatch(/hint: .*--clean/);
    expect(await snapshot(target.name, echo)).toEqual(changed);

    // … and replaced with it, the neighbours still untouched.
    const clean = await runCli(['restore', file, '--clean', '--yes', '--json'], pg(target));
    expect(clean.stderr).not.toContain('error');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ tasks: 9 });
    expect(await snapshot(target.name, echo)).toEqual(await snapshot(source.name, echo));
    await untouched();
    const counts = await runCli(['schemas', 'list', '--json'], pg(target));
    expect(JSON.parse(counts.stdout).items.map((i: { schema: string; tasks: number }) => [i.schema, i.tasks])).toEqual(
      [[echo, 9], [research, 7], [legacy, 9], ['public', 9]].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
  });

  test('a failed --clean restore over an agent schema changes nothing', async () => {
    const target = await serverDb('sbfail');
    const before = { echo: await snapshot(target.name, echo), research: await snapshot(target.name, research) };
    const bad = path.join(dir, `bad-${name}`);
    const bytes = fs.readFileSync(path.join(dir, name));
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length * 0.7)));
    const r = await runCli(['restore', bad, '--clean', '--yes'], pg(target));
    expect(r.code).toBe(1);
    expect(await snapshot(target.name, echo)).toEqual(before.echo);
    expect(await snapshot(target.name, research)).toEqual(before.research);
  });

  test('a truncated backup restored into an empty database leaves it empty (exit 1)', async () => {
    const target = await newDb();
    const bad = path.join(dir, `cut-${name}`);
    const bytes = fs.readFileSync(path.join(dir, name));
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    const r = await runCli(['restore', bad, '--yes'], pg(target));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .+/m);
    expect(await schemasOf(target.name)).toEqual(['public']);
    expect((await adminQuery<{ n: string }>("select count(*)::text as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public'", [], target.name))[0].n).toBe('0');
  });
});

describe('the legacy public schema of the server layout', () => {
  test.each(['legacy.sql', 'legacy.dump'])('%s round-trips, alembic_version included, and --clean replaces it', async (name) => {
    const file = path.join(dir, name);
    // public alone (without --schema the backup holds every agent's schema too).
    const b = await runCli(['backup', file, '--schema', 'public'], pg(source));
    expect(b.code).toBe(0);
    const target = await newDb();
    const r = await runCli(['restore', file, '--yes'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const want = await snapshot(source.name, 'public');
    expect(want.alembic_version).toEqual(['{"version_num":"20251207_0001"}']);
    expect(await snapshot(target.name, 'public')).toEqual(want);
    expect(await schemasOf(target.name)).toEqual(['public']);

    expect((await runCli(['restore', file, '--yes'], pg(target))).code).toBe(2);
    await adminQuery('delete from public.tasks', [], target.name);
    await adminQuery('create table public.unrelated (x int)', [], target.name);
    const clean = await runCli(['restore', file, '--clean', '--yes'], pg(target));
    expect(clean.stderr).not.toContain('error');
    expect(clean.code).toBe(0);
    expect(await snapshot(target.name, 'public')).toEqual(want);
    // Only the dump's objects are replaced: public itself, and what else it holds, stay.
    expect((await adminQuery<{ r: boolean }>("select to_regclass('public.unrelated') is not null as r", [], target.name))[0].r).toBe(true);
  });

  test('a dump of our layout replaces a server-layout public with --clean, leaving none of the old tables', async () => {
    const ours = await newDb('sbours');
    expect((await runCli(['migrate', 'up'], pg(ours))).code).toBe(0);
    expect((await runCli(['seed', 'run'], pg(ours))).code).toBe(0);
    const file = path.join(dir, 'ours.dump');
    expect((await runCli(['backup', file], pg(ours))).code).toBe(0);
    const target = await serverDb('sbmix', { legacyPublic: true });
    const r = await runCli(['restore', file, '--clean', '--yes', '--json'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 9 });
    const layouts = JSON.parse((await runCli(['schemas', 'list', '--json'], pg(target))).stdout).items;
    expect(layouts.find((i: { schema: string }) => i.schema === 'public')).toMatchObject({ layout: 'bindu-db', tasks: 9 });
    expect(layouts.find((i: { schema: string }) => i.schema === echo)).toMatchObject({ layout: 'bindu-server', tasks: 9 });
  });
});
