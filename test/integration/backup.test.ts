import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';

// Round trips through real pg_dump, psql and pg_restore (PostgreSQL 15 from the harness) and the
// embedded database, comparing every row of the four Bindu tables.

const TABLES = ['contexts', 'tasks', 'task_feedback', 'webhook_configs'];
let source: { name: string; url: string };
let dir: string;

const databases = databasesOfFile('bk');
const newDb = databases.create;

/** Every row of the four tables as JSON text, in key order. */
async function snapshot(database: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const exists = await adminQuery<{ r: boolean }>('select to_regclass($1) is not null as r', [`public.${table}`], database);
    out[table] = exists[0].r ? (await adminQuery<{ j: string }>(`select row_to_json(t)::text as j from public.${table} t order by 1`, [], database)).map((r) => r.j) : [];
  }
  return out;
}

const pg = (db: { url: string }) => ({ env: { DATABASE_URL: db.url } });
const embedded = (dataDir: string) => ({ env: { BINDU_DB_DATA_DIR: dataDir }, cwd: dir });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-backup-it-'));
  source = await newDb('bksrc');
  expect((await runCli(['migrate', 'up'], pg(source))).code).toBe(0);
  expect((await runCli(['seed', 'run'], pg(source))).code).toBe(0);
});
afterAll(async () => {
  await databases.dropAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('round trips on PostgreSQL', () => {
  // plain.sql restored once (the first caller restores it); each test works on its own copy.
  let restored: Promise<string> | undefined;
  const restoredPlain = () =>
    (restored ??= (async () => {
      const db = await newDb('bkplain');
      expect((await runCli(['restore', path.join(dir, 'plain.sql'), '--yes'], pg(db))).code).toBe(0);
      return db.name;
    })());

  test.each(['plain.sql', 'gzip.sql.gz', 'custom.dump'])('%s: backup then restore gives the same rows', async (name) => {
    const file = path.join(dir, name);
    const b = await runCli(['backup', file, '--json'], pg(source));
    expect(b.stderr).not.toContain('error');
    expect(b.code).toBe(0);
    const doc = JSON.parse(b.stdout);
    expect(Object.keys(doc).sort()).toEqual(['bytes', 'file', 'format', 'schemas', 'seconds', 'sha256']);
    expect(doc.file).toBe(file);
    expect(doc.format).toBe(name.split('.')[0]);
    expect(doc.bytes).toBe(fs.statSync(file).size);
    expect(doc.sha256).toBe(createHash('sha256').update(fs.readFileSync(file)).digest('hex'));
    // Everything the agents stored is in there: owner-only, whatever the umask.
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);

    const target = await newDb();
    const r = await runCli(['restore', file, '--yes', '--json'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 9 });
    const [a, c] = [await snapshot(source.name), await snapshot(target.name)];
    expect(a.tasks).toHaveLength(9);
    expect(a.tasks.some((t) => t.includes('\\"quotes\\"') && t.includes('\\n') && t.includes('✓'))).toBe(true);
    expect(c).toEqual(a);
  });

  test('a database holding Bindu tables is refused without --clean, replaced with it', async () => {
    const file = path.join(dir, 'plain.sql');
    const target = await newDb('bk', await restoredPlain());
    await adminQuery("delete from tasks where status = 'failed'", [], target.name);
    await adminQuery('create table public.tasks_extra (x int)', [], target.name);
    const before = await snapshot(target.name);

    const refused = await runCli(['restore', file, '--yes'], pg(target));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already holds Bindu tables.*\n.*--clean/);
    expect(await snapshot(target.name)).toEqual(before);

    const noTty = await runCli(['restore', file, '--clean'], pg(target));
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toMatch(/--yes/);

    for (const name of ['plain.sql', 'custom.dump']) {
      const clean = await runCli(['restore', path.join(dir, name), '--clean', '--yes'], pg(target));
      expect(clean.code).toBe(0);
      expect(await snapshot(target.name)).toEqual(await snapshot(source.name));
    }
  });

  test.each([
    ['truncated plain', 'plain.sql', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.6))],
    ['truncated gzip', 'gzip.sql.gz', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.6))],
    ['truncated custom', 'custom.dump', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.6))],
    ['plain with a bad row late in the file', 'plain.sql', (b: Buffer) => Buffer.from(b.toString().replace(/(COPY public\.webhook_configs[^\n]*\n)/, '$1not-a-uuid\t{}\t2020-01-01\t2020-01-01\n'))],
    ['garbage', 'plain.sql', () => Buffer.from('this is not a backup\n')],
  ])('%s: restore --clean fails and the database is exactly as before', async (_label, name, damage) => {
    const target = await newDb('bk', await restoredPlain());
    await adminQuery("update tasks set status = 'completed' where status = 'failed'", [], target.name);
    const before = await snapshot(target.name);
    const bad = path.join(dir, `bad-${name}`);
    fs.writeFileSync(bad, damage(fs.readFileSync(path.join(dir, name))));
    const r = await runCli(['restore', bad, '--clean', '--yes'], pg(target));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .+/m);
    expect(await snapshot(target.name)).toEqual(before);
  });
});

describe('embedded database ↔ PostgreSQL', () => {
  test.each(['plain.sql', 'gzip.sql.gz', 'custom.dump'])('a PostgreSQL %s restores into the embedded database, and its backup restores into PostgreSQL 15', async (name) => {
    const dataDir = path.join(dir, `emb-${name}`);
    const r = await runCli(['restore', path.join(dir, name), '--yes'], embedded(dataDir));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    const again = await runCli(['restore', path.join(dir, name), '--yes'], embedded(dataDir));
    expect(again.code).toBe(2);

    const out = path.join(dir, `from-emb-${name.replace('.dump', '.sql')}`);
    const b = await runCli(['backup', out, '--json'], embedded(dataDir));
    expect(b.code).toBe(0);
    expect(fs.readFileSync(out).subarray(0, 2).toString('hex') === '1f8b').toBe(out.endsWith('.gz'));

    const target = await newDb();
    const back = await runCli(['restore', out, '--yes'], pg(target));
    expect(back.stderr).not.toContain('error');
    expect(back.code).toBe(0);
    expect(await snapshot(target.name)).toEqual(await snapshot(source.name));
  });

  test('the embedded database refuses a custom-format backup, and a failed restore changes nothing', async () => {
    const dataDir = path.join(dir, 'emb-fail');
    expect((await runCli(['restore', path.join(dir, 'plain.sql'), '--yes'], embedded(dataDir))).code).toBe(0);
    const custom = await runCli(['backup', path.join(dir, 'e.dump')], embedded(dataDir));
    expect(custom.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'e.dump'))).toBe(false);

    const r = await runCli(['restore', path.join(dir, 'bad-plain.sql'), '--clean', '--yes'], embedded(dataDir));
    expect(r.code).toBe(1);
    const out = path.join(dir, 'emb-after-fail.sql');
    expect((await runCli(['backup', out], embedded(dataDir))).code).toBe(0);
    const target = await newDb();
    expect((await runCli(['restore', out, '--yes'], pg(target))).code).toBe(0);
    expect(await snapshot(target.name)).toEqual(await snapshot(source.name));
  });
});

describe('data-only backups', () => {
  /** Every table of public with its row count: "nothing changed" covers the migration log and any table at all. */
  async function everything(database: string) {
    const rows = await adminQuery<{ t: string }>("select c.relname::text as t from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1", [], database);
    const log = rows.some((r) => r.t === 'bindu_db_migrations') ? (await adminQuery<{ j: string }>('select row_to_json(m)::text as j from public.bindu_db_migrations m order by id', [], database)).map((r) => r.j) : null;
    return { tables: rows.map((r) => r.t), log, rows: await snapshot(database) };
  }
  // A freshly migrated database, made once; each test gets its own copy.
  let migratedTemplate: string;
  const migrated = () => newDb('bkdata', migratedTemplate);

  beforeAll(async () => {
    const template = await newDb('bkmigrated');
    expect((await runCli(['migrate', 'up'], pg(template))).code).toBe(0);
    migratedTemplate = template.name;
    for (const name of ['data.sql', 'data.dump']) expect((await runCli(['backup', path.join(dir, name), '--data-only'], pg(source))).code).toBe(0);
  });

  test('the dump holds rows only, the tables in foreign-key order (the restore relies on it)', () => {
    const text = fs.readFileSync(path.join(dir, 'data.sql'), 'utf8');
    expect(text).not.toMatch(/CREATE TABLE/);
    const order = [...text.matchAll(/^-- Data for Name: (\w+); Type: TABLE DATA/gm)].map((m) => m[1]).filter((t) => TABLES.includes(t));
    expect(order).toEqual(['contexts', 'tasks', 'task_feedback', 'webhook_configs']);
  });

  test.each(['data.sql', 'data.dump'])('%s restores into a freshly migrated database; again only with --clean, which empties and reloads', async (name) => {
    const file = path.join(dir, name);
    const target = await migrated();
    const log = (await everything(target.name)).log;
    const r = await runCli(['restore', file, '--yes', '--json'], pg(target));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 9 });
    const want = await snapshot(source.name);
    expect(want.tasks.some((t) => t.includes('\\"quotes\\"') && t.includes('\\n') && t.includes('✓'))).toBe(true);
    expect(await snapshot(target.name)).toEqual(want);
    // The target's own migration log is kept, not duplicated from the dump.
    expect((await everything(target.name)).log).toEqual(log);

    await adminQuery("delete from tasks where status = 'failed'", [], target.name);
    const before = await everything(target.name);
    const refused = await runCli(['restore', file, '--yes'], pg(target));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already holds rows in public\.contexts, public\.tasks.*\n.*--clean/);
    expect(await everything(target.name)).toEqual(before);

    const clean = await runCli(['restore', file, '--clean', '--yes', '--json'], pg(target));
    expect(clean.stderr).not.toContain('error');
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ tasks: 9 });
    expect(await snapshot(target.name)).toEqual(want);
    expect((await everything(target.name)).log).toEqual(log);
  });

  test.each(['data.sql', 'data.dump'])('%s into a database without the tables: exit 1, one line saying to migrate first, nothing changed', async (name) => {
    const target = await newDb('bkdata');
    await adminQuery('create table public.unrelated (x int)', [], target.name);
    const before = await everything(target.name);
    const r = await runCli(['restore', path.join(dir, name), '--yes'], pg(target));
    expect(r.code).toBe(1);
    const errors = r.stderr.split('\n').filter((l) => /error|hint/.test(l));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^error: .*data-only backup.*public\.tasks.*create the schema first \(bindu-db migrate up\)/);
    expect(await everything(target.name)).toEqual(before);
  });

  test.each(['data.sql', 'data.dump'])('a --schema-only then a --data-only backup (%s) restore the database, the migration log included', async (name) => {
    const schemaFile = path.join(dir, `schema-only-${name}.sql`);
    expect((await runCli(['backup', schemaFile, '--schema-only'], pg(source))).code).toBe(0);
    const target = await newDb('bkdata');
    const s = await runCli(['restore', schemaFile, '--yes', '--json'], pg(target));
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ tasks: 0 });
    expect((await everything(target.name)).log).toEqual([]);
    expect((await runCli(['restore', path.join(dir, name), '--yes'], pg(target))).code).toBe(0);
    expect(await snapshot(target.name)).toEqual(await snapshot(source.name));
    expect((await everything(target.name)).log).toEqual((await everything(source.name)).log);
    const status = await runCli(['migrate', 'status', '--check'], pg(target));
    expect(status.code).toBe(0);
  });

  test.each([
    ['truncated', (b: Buffer) => b.subarray(0, Math.floor(b.length * 0.7))],
    ['a bad row in the last table', (b: Buffer) => Buffer.from(b.toString().replace(/(COPY public\.webhook_configs[^\n]*\n)/, '$1not-a-uuid\t{}\t2020-01-01\t2020-01-01\n'))],
  ])('%s data-only file, with --clean over rows: exit 1, nothing changed', async (label, damage) => {
    const target = await migrated();
    expect((await runCli(['restore', path.join(dir, 'data.sql'), '--yes'], pg(target))).code).toBe(0);
    await adminQuery("delete from tasks where status = 'failed'", [], target.name);
    const before = await everything(target.name);
    const bad = path.join(dir, `bad-data-${label.length}.sql`);
    fs.writeFileSync(bad, damage(fs.readFileSync(path.join(dir, 'data.sql'))));
    const r = await runCli(['restore', bad, '--clean', '--yes'], pg(target));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .+/m);
    expect(await everything(target.name)).toEqual(before);
  });

  test('a truncated data-only file into empty tables leaves them empty', async () => {
    const target = await migrated();
    const before = await everything(target.name);
    const bad = path.join(dir, 'cut-data.sql');
    const bytes = fs.readFileSync(path.join(dir, 'data.sql'));
    fs.writeFileSync(bad, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    expect((await runCli(['restore', bad, '--yes'], pg(target))).code).toBe(1);
    expect(await everything(target.name)).toEqual(before);
  });

  test('the embedded database: refused without the tables, loaded after migrate up, refused again, reloaded with --clean; its own data-only backup restores into PostgreSQL', async () => {
    const dataDir = path.join(dir, 'emb-data');
    const file = path.join(dir, 'data.sql');
    const missing = await runCli(['restore', file, '--yes'], embedded(dataDir));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/create the schema first \(bindu-db migrate up\)/);
    expect((await runCli(['migrate', 'up'], embedded(dataDir))).code).toBe(0);
    const r = await runCli(['restore', file, '--yes', '--json'], embedded(dataDir));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tasks: 9 });
    expect((await runCli(['restore', file, '--yes'], embedded(dataDir))).code).toBe(2);
    const clean = await runCli(['restore', file, '--clean', '--yes', '--json'], embedded(dataDir));
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ tasks: 9 });

    const out = path.join(dir, 'emb-data-out.sql');
    expect((await runCli(['backup', out, '--data-only'], embedded(dataDir))).code).toBe(0);
    const target = await migrated();
    const back = await runCli(['restore', out, '--yes'], pg(target));
    expect(back.stderr).not.toContain('error');
    expect(back.code).toBe(0);
    expect(await snapshot(target.name)).toEqual(await snapshot(source.name));
  }, 300_000); // five embedded runs, each opening PGlite
});
