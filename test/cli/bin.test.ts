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

test.each([
  ['no code cache', undefined],
  ['a code cache V8 refuses', Buffer.from('not a code cache')],
])('with %s the bin runs the bundle all the same: migrations (knex), the embedded database (an ES module import)', (_what, cache) => {
  // The package's layout, the bundle's cache aside.
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
  const run = (args: string[]) => spawnSync(process.execPath, [path.join(pkg, 'bin', 'bindu-db.cjs'), ...args, '--json'], { cwd: pkg, env, encoding: 'utf8' });
  const up = run(['migrate', 'up', '--dry-run']);
  expect(up.stderr).not.toMatch(/error/);
  expect(up.status).toBe(0);
  expect(JSON.parse(up.stdout).applied.length).toBeGreaterThan(0);
  const list = run(['tasks', 'list']);
  expect(list.status).toBe(0);
  expect(JSON.parse(list.stdout).items).toEqual([]);
});
