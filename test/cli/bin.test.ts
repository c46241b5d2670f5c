import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { binPath, repoRoot } from '../helpers/cli.js';

// The bin runs the CLI's two bundles (the command line; the commands) from the V8 code caches the
// build made of them. V8 refuses a cache made under other flags or by another Node, silently: then
// every start compiles the bundles again.

const bundles = ['cli.cjs', 'commands.cjs'].map((name) => path.join(repoRoot, 'dist', name));
const rejected = (env: NodeJS.ProcessEnv) => {
  const check = `const fs = require('node:fs'), Module = require('node:module'), vm = require('node:vm');
process.stdout.write(${JSON.stringify(bundles)}.map((f) => new vm.Script(Module.wrap(fs.readFileSync(f, 'utf8')), { filename: f, cachedData: fs.readFileSync(f + '.cache') }).cachedDataRejected).join());`;
  const r = spawnSync(process.execPath, ['-e', check], { env, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
};

test('V8 accepts both code caches as the bin runs: plain node, and node with the options the tests run it under', () => {
  const { NODE_OPTIONS, ...plain } = process.env;
  expect(rejected(plain)).toBe('false,false');
  expect(NODE_OPTIONS).toMatch(/--experimental-vm-modules/); // as jest runs, and the CLI under it
  expect(rejected(process.env)).toBe('false,false');
});

/** The package's layout in a new directory, with this code cache for each bundle (none if undefined); returns a runner of its bin. */
function copyOfPackage(cache: (bundle: string) => Buffer | undefined) {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-cache-'));
  fs.mkdirSync(path.join(pkg, 'bin'));
  fs.mkdirSync(path.join(pkg, 'dist'));
  fs.copyFileSync(binPath, path.join(pkg, 'bin', 'bindu-db.cjs'));
  for (const bundle of bundles) {
    const copy = path.join(pkg, 'dist', path.basename(bundle));
    fs.copyFileSync(bundle, copy);
    const data = cache(bundle);
    if (data) fs.writeFileSync(`${copy}.cache`, data);
  }
  for (const dir of ['migrations', 'embedded']) fs.symlinkSync(path.join(repoRoot, 'dist', dir), path.join(pkg, 'dist', dir));
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  const env = { PATH: process.env.PATH, HOME: os.tmpdir(), NO_COLOR: '1', BINDU_DB_DATA_DIR: path.join(pkg, 'db') };
  const run = (args: string[], extra: Record<string, string> = {}) => spawnSync(process.execPath, [path.join(pkg, 'bin', 'bindu-db.cjs'), ...args], { cwd: pkg, env: { ...env, ...extra }, encoding: 'utf8' });
  return Object.assign(run, { pkg });
}

// A cache keeps the name its script was compiled under, whatever name it is run under: a
// trace must name the package's file, never the directory the build ran in.
test('a --debug trace names the bundle within the package, not where it was built', () => {
  const run = copyOfPackage((bundle) => fs.readFileSync(`${bundle}.cache`));
  const r = run(['tasks', 'list', '--debug'], { DATABASE_URL: 'postgresql://u@127.0.0.1:1/db' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/\n\s+at .*bindu-db\/dist\/commands\.cjs:\d+:\d+/);
  expect(r.stderr).toMatch(/\n\s+at .*bindu-db\/dist\/cli\.cjs:\d+:\d+/);
  expect(r.stderr).not.toContain(repoRoot);
});

test.each([
  ['no code cache', () => undefined],
  ['a code cache V8 refuses', () => Buffer.from('not a code cache')],
  ['a code cache V8 refuses for the commands alone', (bundle: string) => (bundle.endsWith('commands.cjs') ? Buffer.from('not a code cache') : fs.readFileSync(`${bundle}.cache`))],
])('with %s the bin runs the bundle all the same: migrations (knex), the embedded database (an ES module import)', (_what, cache) => {
  const run = copyOfPackage(cache);
  const up = run(['migrate', 'up', '--dry-run', '--json']);
  expect(up.stderr).not.toMatch(/error/);
  expect(up.status).toBe(0);
  expect(JSON.parse(up.stdout).applied.length).toBeGreaterThan(0);
  const list = run(['tasks', 'list', '--json']);
  expect(list.status).toBe(0);
  expect(JSON.parse(list.stdout).items).toEqual([]);
});

test('--help, --version and a mistyped command run the command line alone: the commands bundle is not loaded', () => {
  const run = copyOfPackage((bundle) => fs.readFileSync(`${bundle}.cache`));
  for (const file of ['commands.cjs', 'commands.cjs.cache']) fs.rmSync(path.join(run.pkg, 'dist', file));
  const help = run(['--help']);
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: bindu-db/);
  expect(run(['--version']).stdout.trim()).toBe((JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version);
  const typo = run(['migrat']);
  expect(typo.status).toBe(2);
  expect(typo.stderr).toMatch(/Did you mean migrate\?/);
  // and it is the commands bundle a command needs: one line saying so, not a trace
  const missing = run(['migrate', 'status']);
  expect(missing.status).toBe(1);
  expect(missing.stderr).toMatch(/^error: .*dist\/commands\.cjs is missing: this install of bindu-db is incomplete\nhint: reinstall it/);
  expect(missing.stderr).not.toMatch(/\n\s+at /);
  fs.writeFileSync(path.join(run.pkg, 'dist', 'commands.cjs'), fs.readFileSync(bundles[1], 'utf8').slice(0, 1000));
  expect(run(['migrate', 'status']).stderr).toMatch(/^error: .*dist\/commands\.cjs is damaged: /);
});

test('a bundle edited after its code cache was made runs as edited, not as the cache has it', () => {
  const run = copyOfPackage((bundle) => fs.readFileSync(`${bundle}.cache`));
  const commands = path.join(run.pkg, 'dist', 'commands.cjs');
  const before = run(['tasks', 'list']);
  expect(before.stdout).toMatch(/No tasks match/);
  // Same length: V8 itself would take the cache as this file's.
  fs.writeFileSync(commands, fs.readFileSync(commands, 'utf8').replace('No tasks match', 'No tasks MATCH'));
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(commands, later, later);
  expect(run(['tasks', 'list']).stdout).toMatch(/No tasks MATCH/);
});
