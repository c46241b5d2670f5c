// Shared by the benchmarks: medians, the ratio line every benchmark prints, and the CLI they run.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** What `npx bindu-db` runs once installed: package.json's bin (the bundle itself). */
export const cliEntry = path.join(root, (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['bindu-db']);

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "name: ours 123.4 ms, floor 100.0 ms, ratio 1.23 (goal ≤ 1.30) ok" */
export function ratioLine(name: string, ours: number, floor: number, goal: number, unit = 'ms'): string {
  const ratio = ours / floor;
  return `${name}: ours ${ours.toFixed(1)} ${unit}, floor ${floor.toFixed(1)} ${unit}, ratio ${ratio.toFixed(2)} (goal ≤ ${goal.toFixed(2)}) ${ratio <= goal ? 'ok' : 'OVER'}`;
}

/** A throwaway PostgreSQL server for one benchmark; `stop` it in `finally` (Ctrl-C stops it too). */
export async function startBenchServer() {
  const { startTestServer, stopTestServer } = await import('../test/helpers/pgServer.js');
  const server = await startTestServer();
  const stop = () => stopTestServer(server);
  process.on('SIGINT', () => {
    stop();
    process.exit(130);
  });
  return { server, stop };
}
