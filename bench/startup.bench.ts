// `bindu-db --help` against `node -e 0`, median of N runs each, interleaved so noise hits both.
import { spawnSync } from 'node:child_process';
import { cliEntry as bin, median, ratioLine } from './lib.js';

const runs = Number(process.env.BENCH_RUNS ?? 30);
const time = (args: string[]) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
};
const floor: number[] = [];
const ours: number[] = [];
for (let i = 0; i < runs; i++) {
  floor.push(time(['-e', '0']));
  ours.push(time([bin, '--help']));
}
console.log(ratioLine('bindu-db --help vs node -e 0', median(ours), median(floor), 1.2));
