import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { pgDump } from '@electric-sql/pglite-tools';
import { loadConfig } from '../../src/config.js';
import { readPackageMigrations } from '../../src/core/migrationFiles.js';
import { status, up } from '../../src/core/migrations.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { EMBEDDED_HEAD_DESCRIPTION, EMBEDDED_HEAD_TEMPLATE, type HeadTemplate, headTemplateFor, startFromTemplate } from '../../src/db/embeddedTemplate.js';
import { hasMigrationTable } from '../../src/db/migrationLog.js';
import { runCli, shippedMigrations, startCli, until } from '../helpers/cli.js';
import { freshDatabase } from '../helpers/databases.js';

const systemId = async (db: Awaited<ReturnType<typeof freshDatabase>>['db']) =>
  (await db.sql.query<{ id: string; sb: string }>("select system_identifier::text as id, current_setting('shared_buffers') as sb from pg_control_system()"))[0];

// initdb gives every cluster its own system identifier; copies of one template share it.
test('new embedded data directories start from the template the build made, not from initdb', async () => {
  const [a, b] = [await freshDatabase('embedded'), await freshDatabase('embedded')];
  try {
    const [x, y] = [await systemId(a.db), await systemId(b.db)];
    expect(x.id).toBe(y.id);
    expect(x.sb).toBe('16MB');
    // Only the database PGlite opens: template0 and template1 would be two thirds of its files.
    expect((await a.db.sql.query<{ datname: string }>('select datname from pg_catalog.pg_database')).map((r) => r.datname)).toEqual(['postgres']);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test('a template of another PostgreSQL major, or none, is not used and leaves nothing behind', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'template-'));
  fs.mkdirSync(path.join(dir, 'src', 'base'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'src', 'PG_VERSION'), '17\n');
  execFileSync('tar', ['czf', path.join(dir, 'old.tar.gz'), '-C', path.join(dir, 'src'), '.']);
  const target = path.join(dir, 'db');
  fs.mkdirSync(target); // as openDatabase makes it, before it takes the lock inside
  expect(startFromTemplate(target, path.join(dir, 'old.tar.gz'))).toBe(false);
  expect(startFromTemplate(target, path.join(dir, 'missing.tar.gz'))).toBe(false);
  expect(fs.readdirSync(target)).toEqual([]);
});

const logOf = async (db: Database) => db.sql.query<{ id: number; name: string; batch: number; checksum: string; applied_at: unknown }>('select * from public.bindu_db_migrations order by id');
const schemaOf = async (db: Database) => (await (await pgDump({ pg: db.pglite!, args: ['--schema-only', '--schema=public', '--no-owner'] })).text()).replace(/\\(un)?restrict \S+/g, '');

describe('a new embedded data directory that a command migrates right away', () => {
  test('starts at the head: the same log, checksums and schema as applying the migrations, stamped when it was made', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'head-'));
    const before = Date.now();
    const r = await runCli(['tasks', 'list'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'made') } });
    expect(r.code).toBe(0);
    const shipped = await shippedMigrations();
    expect(r.stderr).toContain(`created the embedded database, migrated up to ${shipped.at(-1)} (${shipped.length} migrations applied)`);
    expect(r.stderr).not.toMatch(/applied \d+ migration\(s\)/);
    const made = await openDatabase(loadConfig({ dataDir: path.join(dir, 'made') }, {}));
    const applied = await openDatabase(loadConfig({ dataDir: path.join(dir, 'applied') }, {}));
    try {
      expect(made.startedAtHead).toBeUndefined(); // it existed already when opened here
      expect((await up(applied, readPackageMigrations(), { lockTimeoutSeconds: 5 })).applied).toEqual(shipped);
      const [x, y] = [await logOf(made), await logOf(applied)];
      const strip = (rows: typeof x) => rows.map(({ applied_at: _, ...row }) => row);
      expect(strip(x)).toEqual(strip(y));
      expect(x.map((row) => row.checksum)).toEqual(readPackageMigrations().map((m) => m.checksum));
      for (const row of x) expect(new Date(String(row.applied_at)).getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await schemaOf(made)).toContain('CREATE TABLE public.tasks');
      expect(await schemaOf(made)).toBe(await schemaOf(applied));
      const s = await status(made, readPackageMigrations());
      expect([s.applied, s.pending, s.changed]).toEqual([shipped.length, [], []]);
    } finally {
      await made.close();
      await applied.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('migrate up, the first command a newcomer runs, starts there too and reports what it applied, as applying them does', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'head-'));
    const shipped = await shippedMigrations();
    try {
      const text = await runCli(['migrate', 'up'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'text') } });
      expect(text.code).toBe(0);
      expect(text.stderr).toContain(`created the embedded database, migrated up to ${shipped.at(-1)} (${shipped.length} migrations applied)`);
      expect(text.stdout).toBe(`Applied ${shipped.length} migrations (batch 1):\n${shipped.map((n) => `  ${n}\n`).join('')}`);
      const json = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'json') } });
      expect(JSON.parse(json.stdout)).toEqual({ batch: 1, applied: shipped });
      const again = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'json') } });
      expect(JSON.parse(again.stdout)).toEqual({ batch: null, applied: [] });
      // Asked for less than the head: applied one by one, as asked.
      const one = await runCli(['migrate', 'up', '--step', '1', '--json'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'one') } });
      expect(JSON.parse(one.stdout)).toEqual({ batch: 1, applied: shipped.slice(0, 1) });
      expect(one.stderr).not.toContain('created the embedded database');
      // A project's own migrations go in the same batch as the package's, after them.
      const project = path.join(dir, 'project');
      fs.mkdirSync(path.join(project, 'migrations'), { recursive: true });
      fs.writeFileSync(
        path.join(project, 'migrations', '20990101_0001_add_notes.mjs'),
        `export const revises = '${shipped.at(-1)}';\nexport const up = (knex) => knex.raw('create table notes (id int)');\nexport const down = (knex) => knex.raw('drop table notes');\n`,
      );
      const mine = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'mine') }, cwd: project });
      expect(mine.code).toBe(0);
      expect(JSON.parse(mine.stdout)).toEqual({ batch: 1, applied: [...shipped, '20990101_0001_add_notes'] });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('Ctrl-C while migrate up makes the directory: exit 130, nothing on stdout, the directory whole and saying so', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'head-')), 'db');
    const shipped = await shippedMigrations();
    const cli = startCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
    await until('the run to say where', () => cli.stderr.includes('using the embedded database at'), { stop: cli.exited });
    cli.kill('SIGINT');
    expect((await cli.exited).code).toBe(130);
    expect(cli.stdout).toBe('');
    expect(cli.stderr).toContain(`error: cancelled: the embedded database was made at ${shipped.at(-1)} (${shipped.length} migrations applied); nothing else was applied`);
    const again = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
    expect(JSON.parse(again.stdout)).toEqual({ batch: null, applied: [] });
  });

  test('in another schema, or with migrations on start-up turned off, it starts empty as before', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'head-'));
    try {
      const other = await runCli(['--schema', 'agent_one', 'tasks', 'list'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'other') } });
      expect(other.code).toBe(0);
      expect(other.stderr).toMatch(new RegExp(`applied ${(await shippedMigrations()).length} migration\\(s\\) to the embedded database`));
      const off = await runCli(['migrate', 'status', '--json'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'off'), STORAGE__RUN_MIGRATIONS_ON_STARTUP: 'false' } });
      expect(off.code).toBe(0);
      expect(JSON.parse(off.stdout).applied).toBe(0);
      const db = await openDatabase(loadConfig({ dataDir: path.join(dir, 'other'), schema: 'agent_one' }, {}));
      try {
        expect(await hasMigrationTable(db.sql, 'public')).toBe(false);
      } finally {
        await db.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a head template that holds other migrations (stale) is not used', () => {
    const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'dist-'));
    fs.mkdirSync(path.join(dist, 'embedded'));
    const wanted = readPackageMigrations().map(({ name, checksum }) => ({ name, checksum }));
    const describe = (head: HeadTemplate) => fs.writeFileSync(path.join(dist, EMBEDDED_HEAD_DESCRIPTION), JSON.stringify(head));
    expect(headTemplateFor('public', wanted, dist)).toBeUndefined(); // none
    describe({ schema: 'public', migrations: wanted });
    expect(headTemplateFor('public', wanted, dist)).toBe(path.join(dist, EMBEDDED_HEAD_TEMPLATE));
    expect(headTemplateFor('bindu', wanted, dist)).toBeUndefined();
    expect(headTemplateFor('public', wanted.slice(0, -1), dist)).toBeUndefined();
    describe({ schema: 'public', migrations: wanted.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m)) });
    expect(headTemplateFor('public', wanted, dist)).toBeUndefined();
    fs.rmSync(dist, { recursive: true, force: true });
  });
});

describe('where a new data directory is made', () => {
  const base = () => fs.mkdtempSync(path.join(os.tmpdir(), 'where-'));
  const list = (dir: string) => runCli(['tasks', 'list', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });

  test('an existing empty directory, or a link to one, is filled in place: the link stays a link', async () => {
    const dir = base();
    const target = path.join(dir, 'volume');
    fs.mkdirSync(target);
    fs.symlinkSync(target, path.join(dir, 'link'));
    const r = await list(path.join(dir, 'link'));
    expect(r.code).toBe(0);
    expect(fs.lstatSync(path.join(dir, 'link')).isSymbolicLink()).toBe(true);
    expect(fs.existsSync(path.join(target, 'PG_VERSION'))).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['link', 'volume']);
    expect(fs.readdirSync(target).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  // A container's volume is a mount point: it cannot be renamed over. Root only (mount).
  const mountable = (() => {
    if (process.getuid?.() !== 0) return false;
    const probe = fs.mkdtempSync(path.join(os.tmpdir(), 'mount-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (mountable ? test : test.skip)('an empty mount point (a volume) is filled in place', async () => {
    const volume = path.join(base(), 'volume');
    fs.mkdirSync(volume);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256m', 'tmpfs', volume]);
    try {
      const r = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: volume } });
      expect(r.stderr).not.toMatch(/EBUSY|EXDEV|please report/);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).applied).toEqual(await shippedMigrations());
      expect((await list(volume)).code).toBe(0);
    } finally {
      execFileSync('umount', ['-l', volume]);
    }
  });

  test('the data directory is named on one line: its newline shown as \\n; outside the working directory, by its absolute path', async () => {
    const dir = path.join(base(), 'two\nlines');
    const r = await runCli(['tasks', 'list'], { env: { BINDU_DB_DATA_DIR: dir }, cwd: base() }); // a sibling: ../ of it
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(`using the embedded database at ${dir.replace('\n', '\\n')} (set DATABASE_URL to use PostgreSQL)`);
  });

  test('a loop of links is a one-line error (exit 2), not an errno', async () => {
    const dir = base();
    fs.symlinkSync(path.join(dir, 'b'), path.join(dir, 'a'));
    fs.symlinkSync(path.join(dir, 'a'), path.join(dir, 'b'));
    const r = await list(path.join(dir, 'a'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: the embedded database path .*a is a loop of symbolic links$/m);
    expect(r.stderr).not.toMatch(/ELOOP|SQLSTATE/);
  });

  test('a link to nothing is a one-line error, and nothing is made', async () => {
    const dir = base();
    fs.symlinkSync(path.join(dir, 'missing'), path.join(dir, 'link'));
    const r = await list(path.join(dir, 'link'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: the embedded database path .*link is a symbolic link to .*missing, which does not exist$/m);
    expect(r.stderr).not.toMatch(/please report/);
    expect(fs.existsSync(path.join(dir, 'missing'))).toBe(false);
  });

  test('a directory a killed run left half-filled is filled again; staging killed runs left in it is removed', async () => {
    const dir = base();
    const half = path.join(dir, 'half');
    fs.mkdirSync(half);
    startFromTemplate(half);
    // As a run killed between moving the template's entries in and moving PG_VERSION last.
    fs.rmSync(path.join(half, 'PG_VERSION'));
    fs.rmSync(path.join(half, 'global'), { recursive: true });
    fs.writeFileSync(path.join(half, '.bindu-db-filling'), '');
    const dead = `.bindu-db-new-${os.hostname()}-4194300-0badc0de`;
    fs.mkdirSync(path.join(half, dead));
    expect((await list(half)).code).toBe(0);
    expect(fs.existsSync(path.join(half, 'global'))).toBe(true);
    expect(fs.existsSync(path.join(half, '.bindu-db-filling'))).toBe(false);
    expect(fs.readdirSync(half).filter((n) => n.includes('-new-'))).toEqual([]);
    const gone = path.join(dir, 'gone');
    fs.mkdirSync(gone);
    fs.mkdirSync(path.join(gone, dead)); // killed before it moved anything in
    expect((await list(gone)).code).toBe(0);
    expect(fs.readdirSync(gone).filter((n) => n.includes('-new-'))).toEqual([]);
  });

  test('a filling mark beside files no data directory holds (planted, or a wrong --data-dir) removes nothing', async () => {
    const dir = path.join(base(), 'shared');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.bindu-db-filling'), '');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'keep me');
    const r = await list(dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: .*shared holds notes\.txt, which no embedded data directory does: nothing was removed$/m);
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
  });

  test('a directory made at the head whose run was killed before stamping its log is stamped by the next', async () => {
    const dir = path.join(base(), 'db');
    const before = Date.now();
    const head = headTemplateFor('public', readPackageMigrations().map(({ name, checksum }) => ({ name, checksum })));
    expect(head).toBeDefined();
    expect(startFromTemplate(dir, head!, { restamp: 'public' })).toBe(true); // then killed: PGlite never opened it
    const r = await runCli(['migrate', 'history', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
    expect(r.code).toBe(0);
    const items = JSON.parse(r.stdout).items as { applied_at: string }[];
    expect(items.length).toBe((await shippedMigrations()).length);
    for (const item of items) expect(new Date(item.applied_at).getTime()).toBeGreaterThanOrEqual(before - 1000);
  });

  test('a path through a file, or under a directory this user cannot write: one line, no report hint', async () => {
    const dir = base();
    fs.chmodSync(dir, 0o755); // nobody may look inside, not write
    fs.writeFileSync(path.join(dir, 'afile'), '');
    const through = await list(path.join(dir, 'afile', 'db'));
    expect(through.code).toBe(2);
    expect(through.stderr).toMatch(/^error: the embedded database path .*afile\/db goes through .*afile, which is not a directory$/m);
    fs.mkdirSync(path.join(dir, 'ro'), { mode: 0o755 });
    const nobody = 65534;
    const denied = await runCli(['tasks', 'list'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'ro', 'sub', 'db') }, uid: nobody, cwd: dir });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/^error: cannot make the embedded database at .*ro\/sub\/db: .*ro is not writable by this user \(permission denied\)$/m);
    for (const r of [through, denied]) expect(r.stderr).not.toMatch(/please report/);
  });
});

test('a dry run on a data directory not made yet creates nothing there: it runs on a scratch copy, removed after', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'dry-'));
  const dir = path.join(parent, 'db');
  const shipped = await shippedMigrations();
  const scratches = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`bindu-dry-run-${os.hostname()}-`)).length;
  const before = scratches();
  const up = await runCli(['migrate', 'up', '--dry-run', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
  expect(up.code).toBe(0);
  expect(JSON.parse(up.stdout)).toMatchObject({ dry_run: true, applied: shipped });
  expect(up.stderr).toMatch(/db does not exist yet: the dry run uses a scratch copy, removed after, and creates nothing there/);
  const prune = await runCli(['tasks', 'prune', '--older-than', '1d', '--dry-run', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
  expect(prune.stderr).not.toMatch(/error/);
  expect(prune.code).toBe(0);
  expect(JSON.parse(prune.stdout)).toMatchObject({ dry_run: true });
  expect(fs.existsSync(dir)).toBe(false);
  expect(scratches()).toBe(before);
  // Without --dry-run the directory is made, as always; a dry run on it then uses it.
  expect((await runCli(['migrate', 'up'], { env: { BINDU_DB_DATA_DIR: dir } })).code).toBe(0);
  const again = await runCli(['migrate', 'up', '--dry-run'], { env: { BINDU_DB_DATA_DIR: dir } });
  expect(again.stderr).not.toMatch(/scratch/);
  expect(again.stdout).toMatch(/Nothing to apply/);
});
