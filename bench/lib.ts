// Shared by the benchmarks: medians and the ratio line every benchmark prints.

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
