import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { binPath, repoRoot } from '../helpers/cli.js';

// The bin runs the CLI bundle from the V8 code cache the build made of it. V8 refuses a cache made
// under other flags or by another Node, silently: then every start compiles the bundle again.

const cliFile = path.join(repoRoot, 'dist', 'cli.cjs');
const rejected = (env: NodeJS.ProcessEnv) => {
  const check = `const fs = require('node:fs'), Module = require('node:module'), vm = require('node:vm');
const f = ${JSON.stringify(cliFile)};
process.stdout.write(String(new vm.Script(Module.wrap(fs.readFileSync(f, 'utf8')), { filename: f, cachedData: fs.readFileSync(f + '.cache') }).cachedDataRejected));`;
  const r = spawnSync(process.execPath, ['-e', check], { env, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return r.stdout;
};

test('V8 accepts the code cache as the bin runs: plain node, and node with the options the tests run it under', () => {
  const { NODE_OPTIONS, ...plain } = process.env;
  expect(rejected(plain)).toBe('false');
  expect(NODE_OPTIONS).toMatch(/--experimental-vm-modules/); // as jest runs, and the CLI under it
  expect(rejected(process.env)).toBe('false');
});

/** The package's layout in a new directory, with this code cache (none if undefined); returns a runner of its bin. */
function copyOfPackage(cache: Buffer | undefined) {
  const pkg = fs.mkdtempSync(path.join(os.tmpdir(), 'bin-cache-'));
  fs.mkdirSync(path.join(pkg, 'bin'));
  fs.mkdirSync(path.join(pkg, 'dist'));
  fs.copyFileSync(binPath, path.join(pkg, 'bin', 'bindu-db.cjs'));
  fs.copyFileSync(cliFile, path.join(pkg, 'dist', 'cli.cjs'));
  if (cache) fs.writeFileSync(path.join(pkg, 'dist', 'cli.cjs.cache'), cache);
  for (const dir of ['migrations', 'embedded']) fs.symlinkSync(path.join(repoRoot, 'dist', dir), path.join(pkg, 'dist', dir));
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(pkg, 'package.json'));
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkg, 'node_modules'));
  const env = { PATH: process.env.PATH, HOME: os.tmpdir(), NO_COLOR: '1', BINDU_DB_DATA_DIR: path.join(pkg, 'db') };
  return (args: string[], extra: Record<string, string> = {}) => spawnSync(process.execPath, [path.join(pkg, 'bin', 'bindu-db.cjs'), ...args], { cwd: pkg, env: { ...env, ...extra }, encoding: 'utf8' });
}

// A cache keeps the name its script was compiled under, whatever name it is run under: a
// trace must name the package's file, never the directory the build ran in.
test('a --debug trace names the bundle within the package, not where it was built', () => {
  const run = copyOfPackage(fs.readFileSync(`${cliFile}.cache`));
  const r = run(['tasks', 'list', '--debug'], { DATABASE_URL: 'postgresql://u@127.0.0.1:1/db' });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/\n\s+at .*bindu-db\/dist\/cli\.cjs:\d+:\d+/);
  expect(r.stderr).not.toContain(repoRoot);
});

test.each([
  ['no code cache', undefined],
  ['a code cache V8 refuses', Buffer.from('not a code cache')],
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
