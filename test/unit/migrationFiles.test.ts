import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import {
  PACKAGE_MIGRATIONS_DIR,
  PACKAGE_SOURCES_DIR,
  listMigrationFiles,
  makeMigrationFile,
  makeTargetDir,
  orderByRevision,
  projectMigrationsDir,
  readMigrationDir,
  readMigrations,
  readPackageMigrations,
  readRevises,
  sourceChecksum,
} from '../../src/core/migrationFiles.js';
import { packageRoot } from '../../src/config.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
const migration = (revises: string | null, body = '') => `export const revises = ${JSON.stringify(revises)};\n${body}export async function up() {}\nexport async function down() {}\n`;

describe('orderByRevision', () => {
  test('orders by what each migration revises, not by name', () => {
    expect(orderByRevision([
      { name: '20250614_0001_add_webhook_configs_table', revises: '20251207_0001_initial_schema' },
      { name: '20251207_0001_initial_schema', revises: null },
      { name: '20240101_0001_z', revises: '20250614_0001_add_webhook_configs_table' },
    ])).toEqual(['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20240101_0001_z']);
  });

  test('two migrations revising the same parent is an error naming both', () => {
    expect(() => orderByRevision([
      { name: 'a', revises: null },
      { name: 'b', revises: 'a' },
      { name: 'c', revises: 'a' },
    ])).toThrow('migrations b and c both revise a');
  });

  test('two first migrations, unknown parents and cycles are errors', () => {
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: null }])).toThrow(/a and b both revise nothing/);
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: 'zzz' }])).toThrow('b revises zzz, which does not exist');
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: 'c' }, { name: 'c', revises: 'b' }])).toThrow(/cycle/);
  });

  test("a project's chain starts from any of the package's migrations, never from nothing", () => {
    expect(orderByRevision([{ name: 'p2', revises: 'p1' }, { name: 'p1', revises: 'old' }], ['old', 'head'])).toEqual(['p1', 'p2']);
    expect(() => orderByRevision([{ name: 'p1', revises: null }], ['old', 'head'])).toThrow(/p1 revises nothing, but the package's migrations come first/);
    expect(() => orderByRevision([{ name: 'p1', revises: 'head' }, { name: 'p2', revises: 'head' }], ['old', 'head'])).toThrow('migrations p1 and p2 both revise head');
  });
});

describe('reading migrations without running them', () => {
  test('revises is read from the source: literals of every quote, typed, commented', () => {
    expect(readRevises(`export const revises = null;`, 'f')).toBeNull();
    expect(readRevises(`// x\nexport const revises = 'a_b';\n`, 'f')).toBe('a_b');
    expect(readRevises(`export const revises: string | null = "a";`, 'f')).toBe('a');
    expect(readRevises("export const revises = `a` as const; // the head", 'f')).toBe('a');
    expect(() => readRevises(`export const revises = names[2];`, '/x/m.ts')).toThrow(/cannot read what \/x\/m.ts revises without running it/);
    expect(() => readRevises(`const revises = 'a';`, 'f')).toThrow(/cannot read/);
    expect(readRevises(`export const revises = 'a'; export async function up() {}`, 'f')).toBe('a');
    expect(() => readRevises(`export const revises = 'a' + suffix;`, 'f')).toThrow(/cannot read/);
  });

  test('checksums ignore line endings and nothing else', () => {
    expect(sourceChecksum('a\r\nb\rc\n')).toBe(sourceChecksum('a\nb\nc\n'));
    expect(sourceChecksum('a\nb\n')).not.toBe(sourceChecksum('a\nb \n'));
  });

  test('.d.ts and helper files are skipped; .ts and .js of one name are one migration', () => {
    const dir = tmp();
    for (const f of ['a.ts', 'a.js', 'a.d.ts', '_helper.ts', 'README.md', 'b.mjs']) fs.writeFileSync(path.join(dir, f), '');
    expect([...listMigrationFiles(dir)]).toEqual([['a', path.join(dir, 'a.ts')], ['b', path.join(dir, 'b.mjs')]]);
  });

  test('a CommonJS migration (.cjs, .cts) is an error naming it, never skipped in silence', () => {
    for (const f of ['20990101_0003_add_links.cjs', '20990101_0004_add_tags.cts']) {
      const dir = tmp();
      fs.writeFileSync(path.join(dir, '20990101_0001_add_notes.mjs'), '');
      fs.writeFileSync(path.join(dir, 'types.d.cts'), ''); // declarations stay skipped
      fs.writeFileSync(path.join(dir, f), "exports.revises = '20990101_0001_add_notes';\n");
      expect(() => listMigrationFiles(dir)).toThrow(new RegExp(`^${path.join(dir, f).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is CommonJS: migrations are ES modules`));
    }
  });

  test('a migration that throws on import is read, and only load() names the file', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'm1.mjs'), migration('x', "throw new Error('boom');\n"));
    const [m] = readMigrationDir(dir, 'project');
    expect(m).toMatchObject({ name: 'm1', revises: 'x', origin: 'project', dir });
    await expect(m.load()).rejects.toThrow(`cannot load migration ${path.join(dir, 'm1.mjs')}: boom`);
  });

  test('a revises export that differs when run from what the source says is caught', async () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, 'm1.mjs'), `/*\nexport const revises = 'a';\n*/\nexport const revises = ['b'][0];\nexport async function up() {}\nexport async function down() {}\n`);
    const [m] = readMigrationDir(dir, 'project');
    expect(m.revises).toBe('a');
    await expect(m.load()).rejects.toThrow(/revises b when run, but a as written/);
  });
});

describe("the package's migrations", () => {
  test('are read compiled from the manifest, in revision order, named without extension', () => {
    const list = readPackageMigrations();
    expect(list.map((m) => m.name).slice(0, 2)).toEqual(['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table']);
    expect(list.every((m) => m.file.startsWith(PACKAGE_MIGRATIONS_DIR) && m.file.endsWith('.js') && m.origin === 'package')).toBe(true);
  });

  test('a compiled migration checksums the same as its .ts source', () => {
    const sources = new Map(readMigrationDir(PACKAGE_SOURCES_DIR, 'package').map((m) => [m.name, m.checksum]));
    for (const m of readPackageMigrations()) expect(m.checksum).toBe(sources.get(m.name));
  });

  test('a manifest that does not match the compiled files or the sources is an error saying which', () => {
    const dist = tmp();
    const sources = tmp();
    fs.writeFileSync(path.join(sources, 'a.ts'), migration(null));
    fs.writeFileSync(path.join(dist, 'a.js'), migration(null));
    const write = (entries: object[]) => fs.writeFileSync(path.join(dist, 'manifest.json'), JSON.stringify({ migrations: entries }));
    write([{ name: 'a', revises: null, checksum: sourceChecksum(migration(null)) }]);
    expect(readPackageMigrations(dist, sources).map((m) => m.name)).toEqual(['a']);
    fs.writeFileSync(path.join(sources, 'a.ts'), migration(null, '// edited\n'));
    expect(() => readPackageMigrations(dist, sources)).toThrow(/do not match their manifest: a changed since the build/);
    fs.writeFileSync(path.join(sources, 'a.ts'), migration(null));
    fs.writeFileSync(path.join(dist, 'b.js'), migration('a'));
    expect(() => readPackageMigrations(dist, sources)).toThrow(/b not in the manifest/);
    fs.rmSync(path.join(dist, 'b.js'));
    fs.rmSync(path.join(dist, 'a.js'));
    expect(() => readPackageMigrations(dist, sources)).toThrow(/a missing/);
    fs.rmSync(path.join(dist, 'manifest.json'));
    expect(() => readPackageMigrations(dist, sources)).toThrow(/are not built/);
  });
});

describe("a project's migrations", () => {
  test('./migrations of the working directory, unless it is the package itself; a given directory wins', () => {
    const cwd = tmp();
    expect(projectMigrationsDir(undefined, cwd)).toBeUndefined();
    fs.mkdirSync(path.join(cwd, 'migrations'));
    expect(projectMigrationsDir(undefined, cwd)).toBe(path.join(cwd, 'migrations'));
    expect(projectMigrationsDir('db/m', cwd)).toBe(path.join(cwd, 'db/m'));
    expect(projectMigrationsDir(undefined, packageRoot)).toBeUndefined();
  });

  test("run after the package's, revising its head; a clash of names is an error", () => {
    const dir = tmp();
    const head = readPackageMigrations().at(-1)!.name;
    fs.writeFileSync(path.join(dir, '20990101_0002_second.ts'), migration('20990101_0001_first'));
    fs.writeFileSync(path.join(dir, '20990101_0001_first.ts'), migration(head));
    const all = readMigrations(dir);
    expect(all.slice(-3).map((m) => [m.name, m.origin])).toEqual([[head, 'package'], ['20990101_0001_first', 'project'], ['20990101_0002_second', 'project']]);
    fs.writeFileSync(path.join(dir, `${head}.ts`), migration('20990101_0002_second'));
    expect(() => readMigrations(dir)).toThrow(/has the name of one of the package's/);
  });

  test('make writes a dated, sequenced TypeScript migration revising the head, making the directory, and validates the name', () => {
    const dir = makeTargetDir(undefined, tmp(), 'add_priority');
    const now = new Date('2026-11-26T10:00:00Z');
    const first = makeMigrationFile(dir, 'add_priority', 'h', now);
    const second = makeMigrationFile(dir, 'add_owner', first.name, now);
    expect([first.name, second.name]).toEqual(['20261126_0001_add_priority', '20261126_0002_add_owner']);
    expect(readRevises(fs.readFileSync(second.path, 'utf8'), second.path)).toBe(first.name);
    for (const bad of ['Add', '../x', 'a-b', 'x/y', '', '1abc', 'a'.repeat(61)]) {
      expect(() => makeMigrationFile(dir, bad, null, now)).toThrow(/invalid migration name/);
      const cwd = tmp();
      expect(() => makeTargetDir('db/migrations', cwd, bad)).toThrow(/invalid migration name/);
      expect(fs.existsSync(path.join(cwd, 'db'))).toBe(false);
    }
  });

  test('make never writes inside node_modules', () => {
    const cwd = path.join(tmp(), 'node_modules', 'bindu-db');
    expect(() => makeTargetDir(undefined, cwd, 'add_x')).toThrow(/will not write a migration inside node_modules/);
    expect(() => makeTargetDir('/srv/app/node_modules/x', '/', 'add_x')).toThrow(expect.objectContaining({ hint: expect.stringMatching(/--migrations-dir/) }));
    const project = tmp();
    expect(makeTargetDir('db/migrations', project, 'add_x')).toBe(path.join(project, 'db/migrations'));
    expect(fs.statSync(path.join(project, 'db/migrations')).isDirectory()).toBe(true); // made, for the chain to be read from
  });
});
