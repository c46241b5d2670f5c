// npm run bench: runs every bench/*.bench.ts in turn (or those named on the command line),
// each a standalone script that prints its own ratios against the floor measured in the same run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './lib.js';

const dir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

/** Node's own start, which every bindu-db run pays and no floor does: worth knowing when it is slow. */
function nodeStart(env: NodeJS.ProcessEnv): number {
  const runs: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(runs);
}
console.log(`node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}; node -e 0: ${nodeStart(process.env).toFixed(1)} ms`);
if (process.env.NODE_EXTRA_CA_CERTS) {
  const { NODE_EXTRA_CA_CERTS: _, ...without } = process.env;
  console.log(`  NODE_EXTRA_CA_CERTS is set: node reads that file at every start; without it node -e 0 takes ${nodeStart(without).toFixed(1)} ms`);
}

let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
