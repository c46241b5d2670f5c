// What dist/ is built from, as one hash: npm runs `prepare` at every `npm install` of a clone and
// the first time npx runs the project's own bin (it links the project into its cache), and the
// build (tsc, bundles, code caches: ~4 s, ~300 MiB) need not run again on inputs it has built.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const INPUT_DIRS = ['src', 'scripts', 'migrations'];
const INPUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];
export const BUILT_FILE = 'build.json';

function* filesUnder(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(file);
    else if (entry.isFile()) yield file;
  }
}

/** The hash of the build's inputs, and of the node that runs it (the code caches are its V8's). */
export function buildKey(root) {
  const hash = createHash('sha256').update(`${process.version} ${process.arch}\n`);
  const files = [...INPUT_FILES.map((f) => path.join(root, f)), ...INPUT_DIRS.flatMap((d) => [...filesUnder(path.join(root, d))])];
  for (const file of files) hash.update(`${path.relative(root, file)}\n`).update(fs.readFileSync(file));
  return hash.digest('hex');
}

/** True when dist/ holds a whole build of these inputs (the build writes its record last). */
export function isBuilt(root) {
  try {
    const built = JSON.parse(fs.readFileSync(path.join(root, 'dist', BUILT_FILE), 'utf8'));
    return built.key === buildKey(root) && built.files.every((f) => fs.existsSync(path.join(root, 'dist', f)));
  } catch {
    return false;
  }
}
