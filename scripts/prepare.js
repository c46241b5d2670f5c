// npm's prepare: build, unless dist/ already holds a build of these very inputs.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBuilt } from './buildKey.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!isBuilt(root)) {
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  process.exitCode = built.status ?? 1;
}
