import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { repoRoot, shippedMigrations } from '../helpers/cli.js';

// As a user gets it: `npm pack`, installed into an empty project (dependencies from the npm
// cache the test run already filled), then `migrate make` and `migrate up` with no build step.
test('from an installed package, `migrate make` writes a TypeScript migration that `migrate up` runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'installed-'));
  const npm = (args: string[]) => execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: 'ignore' });
  const tarball = fs.readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'ops', private: true }));
  npm(['install', `./${tarball}`, '--prefer-offline', '--no-audit', '--no-fund']);
  const env = { ...process.env, DATABASE_URL: '', STORAGE_TYPE: '', NO_COLOR: '1' };
  const cli = (...args: string[]) => execFileSync(path.join(dir, 'node_modules', '.bin', 'bindu-db'), args, { cwd: dir, env, encoding: 'utf8' });
  const made = JSON.parse(cli('migrate', 'make', 'add_note', '--json'));
  expect(made.path.startsWith(path.join(dir, 'node_modules', 'bindu-db', 'migrations'))).toBe(true);
  const up = JSON.parse(cli('migrate', 'up', '--json'));
  expect(up.applied).toEqual([...(await shippedMigrations()), made.name]);
  expect(JSON.parse(cli('migrate', 'history', '--json')).head).toBe(made.name);
}, 120_000);
