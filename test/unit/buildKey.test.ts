import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { BUILT_FILE, buildKey, isBuilt } from '../../scripts/buildKey.js';
import { repoRoot } from '../helpers/cli.js';

// npm's prepare skips the build when dist/ holds one of the same inputs: the README's first npx
// command in a clone (npx links the project into its cache and runs prepare) took 4.9 s to rebuild.

function project(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-key-'));
  for (const [file, text] of Object.entries({ 'package.json': '{}', 'package-lock.json': '{}', 'tsconfig.json': '{}', 'src/cli/main.ts': 'main', 'scripts/build.ts': 'build', 'migrations/0001.ts': 'm' })) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  fs.mkdirSync(path.join(root, 'dist'));
  fs.writeFileSync(path.join(root, 'dist', 'cli.cjs'), 'bundle');
  fs.writeFileSync(path.join(root, 'dist', BUILT_FILE), JSON.stringify({ key: buildKey(root), files: ['cli.cjs'] }));
  return root;
}

test('a build of the same inputs is kept; an edited, added or renamed input, or a missing output, builds again', () => {
  const root = project();
  expect(isBuilt(root)).toBe(true);
  fs.writeFileSync(path.join(root, 'src/cli/main.ts'), 'main, edited');
  expect(isBuilt(root)).toBe(false);

  const added = project();
  fs.writeFileSync(path.join(added, 'migrations/0002.ts'), 'm');
  expect(isBuilt(added)).toBe(false);

  const renamed = project();
  fs.renameSync(path.join(renamed, 'migrations/0001.ts'), path.join(renamed, 'migrations/0000.ts'));
  expect(isBuilt(renamed)).toBe(false);

  const lock = project();
  fs.writeFileSync(path.join(lock, 'package-lock.json'), '{"packages":{}}');
  expect(isBuilt(lock)).toBe(false);

  const partial = project();
  fs.rmSync(path.join(partial, 'dist', 'cli.cjs'));
  expect(isBuilt(partial)).toBe(false);

  const torn = project();
  fs.writeFileSync(path.join(torn, 'dist', BUILT_FILE), '{"key": "');
  expect(isBuilt(torn)).toBe(false);

  const none = project();
  fs.rmSync(path.join(none, 'dist', BUILT_FILE));
  expect(isBuilt(none)).toBe(false);
});

test('the build records what it built from, so that prepare after it builds nothing', () => {
  // npm test bundles first: dist/ is this checkout's build
  expect(isBuilt(repoRoot)).toBe(true);
});
