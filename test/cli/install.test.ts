import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { repoRoot, shippedMigrations } from '../helpers/cli.js';

// As a user gets it: `npm pack`, installed into an empty project (dependencies from the npm
// cache the test run already filled), then the project's own migrations beside the package's.
test("from an installed package, the project's migrations live in the project, run after the package's, and edits are caught", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'installed-'));
  const npm = (args: string[]) => execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: 'ignore' });
  const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ops', private: true }));
  npm(['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund']);
  const installed = path.join(dir, 'node_modules', 'bindu-db');
  // The package's migrations ship compiled with their manifest; no TypeScript to transpile.
  expect(fs.existsSync(path.join(installed, 'dist', 'migrations', 'manifest.json'))).toBe(true);
  expect(fs.existsSync(path.join(installed, 'migrations'))).toBe(false);

  const env = { ...process.env, DATABASE_URL: '', STORAGE_TYPE: '', NO_COLOR: '1' };
  const cli = (args: string[], cwd = dir) => spawnSync(path.join(dir, 'node_modules', '.bin', 'bindu-db'), args, { cwd, env, encoding: 'utf8' });
  const json = (args: string[]) => {
    const r = cli([...args, '--json']);
    expect(r.stderr).not.toMatch(/error/);
    return JSON.parse(r.stdout);
  };

  const made = json(['migrate', 'make', 'add_note']);
  expect(path.dirname(made.path)).toBe(path.join(dir, 'migrations'));
  expect(made.revises).toBe((await shippedMigrations()).at(-1));
  fs.writeFileSync(made.path, fs.readFileSync(made.path, 'utf8').replace("// await knex.schema.alterTable('tasks', (table) => { table.text('note'); });", "await knex.raw('alter table tasks add column note text');"));
  expect(json(['migrate', 'up']).applied).toEqual([...(await shippedMigrations()), made.name]);
  const history = json(['migrate', 'history']);
  expect(history.head).toBe(made.name);
  expect(history.items.map((i: { dir: string }) => i.dir)).toEqual([...(await shippedMigrations()).map(() => path.join(installed, 'dist', 'migrations')), path.join(dir, 'migrations')]);

  // Never inside node_modules, where a reinstall deletes it.
  const refused = cli(['migrate', 'make', 'add_x'], installed);
  expect(refused.status).toBe(2);
  expect(refused.stderr).toMatch(/inside node_modules.*\n.*--migrations-dir/);

  // An applied migration edited by hand: status --check fails on it, up needs it accepted.
  fs.appendFileSync(made.path, '// edited\n');
  const check = cli(['migrate', 'status', '--check', '--json']);
  expect(check.status).toBe(3);
  expect(JSON.parse(check.stdout)).toMatchObject({ pending: [], changed: [made.name] });
  expect(cli(['migrate', 'status']).stdout).toContain(`Changed:  ${made.name}`);
  const accepted = cli(['migrate', 'up', '--accept-changed', made.name, '--json']);
  expect(accepted.status).toBe(0);
  expect(JSON.parse(accepted.stdout)).toEqual({ batch: null, applied: [], accepted: [made.name] });
  expect(cli(['migrate', 'status', '--check']).status).toBe(0);
}, 180_000);

// `npm ci` trusts the lock: a stale root entry there makes every `npm install` of a clone rewrite
// package-lock.json (a dirty checkout on a first install).
test("package-lock.json's own entry agrees with package.json (bin, dependencies)", () => {
  const read = (f: string) => JSON.parse(fs.readFileSync(path.join(repoRoot, f), 'utf8'));
  const pkg = read('package.json');
  const root = read('package-lock.json').packages[''];
  expect({ bin: root.bin, dependencies: root.dependencies, devDependencies: root.devDependencies }).toEqual({ bin: pkg.bin, dependencies: pkg.dependencies, devDependencies: pkg.devDependencies });
});
