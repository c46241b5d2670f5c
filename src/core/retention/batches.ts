import type { Source } from '../../db/inspect/source.js';
import type { TaskStatus } from '../../db/types.js';
import { UsageError } from '../../errors.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { signalsSeen } from '../../lib/process.js';
import { parseLimit, parseTime } from '../inspectInput.js';

// What the retention use cases share: the cutoff, the batch size, the statuses a schema's
// layout has, and the loop that runs batches until none is left or the user interrupts.

export const DEFAULT_BATCH_SIZE = 1000;

/** --older-than 30d (or an ISO date): the cutoff, which must lie in the past. */
export function parseOlderThan(value: string, what = '--older-than', now = new Date()): Date {
  const cutoff = parseTime(value, what, now);
  if (cutoff > now) throw new UsageError(`${what} ${value} lies in the future`, 'give a duration (30m, 24h, 90d) or a date before now');
  return cutoff;
}

export function parseBatchSize(value: string | undefined): number {
  return parseLimit(value, DEFAULT_BATCH_SIZE, '--batch-size', 100_000);
}

/**
 * After each batch the run pauses this many times as long as the batch took: the server's own
 * statements get the cores back between batches (on two cores a run flat out tripled their
 * slowest latencies; bench/prune.bench.ts).
 */
export const DEFAULT_PAUSE = 0.5;

/** --pause <factor>: 0 (flat out) to 10. */
export function parsePause(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PAUSE;
  const n = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 10) throw new UsageError(`--pause must be a number from 0 to 10, not ${JSON.stringify(value.slice(0, 40))}`, 'e.g. --pause 0.5: after each batch, wait half as long as it took; 0: no pause');
  return n;
}

/** The stored values of the statuses the source's layout has (a server-only status matches nothing on ours). */
export function storedIn(source: Source, statuses: readonly TaskStatus[]): string[] {
  return [...new Set(statuses.filter((s) => source.layout.statuses.includes(s)).flatMap((s) => source.layout.storedStatuses(s)))];
}

/** How a batched run is interrupted. */
export interface Interruption {
  /** Aborted: no batch starts after it. */
  signal?: AbortSignal;
  /** Runs one batch so that an interrupt waits for its end (the CLI's ctx.whole). */
  whole?<R>(work: () => Promise<R>): Promise<R>;
}

/**
 * Runs the batches of each target in turn: `step` is one batch (one transaction) starting after
 * the key the previous batch of that target returned, and returns its own last key, or none
 * when nothing was left. An aborted `signal` stops everything before the next batch; the batch
 * in flight always finishes, through `whole`. `onBatch` gets the number of batches done so far;
 * `pause` (see DEFAULT_PAUSE) spaces the batches.
 */
export async function runBatches<T, K>(
  targets: readonly T[],
  step: (target: T, after: K | undefined) => Promise<K | undefined>,
  progress: Interruption & { onBatch?(batches: number): void; pause?: number },
): Promise<{ batches: number; interrupted: boolean }> {
  const whole = progress.whole ?? (<R>(work: () => Promise<R>) => work());
  let batches = 0;
  for (const target of targets) {
    let after: K | undefined;
    for (;;) {
      // On the embedded database a run of batches would otherwise never let the signal be seen.
      await signalsSeen();
      if (progress.signal?.aborted) return { batches, interrupted: true };
      const from = after;
      const started = performance.now();
      after = await whole(() => step(target, from));
      if (after === undefined) break;
      batches++;
      progress.onBatch?.(batches);
      // An interrupt ends the pause at once (the loop then stops).
      if (progress.pause) await sleep((performance.now() - started) * progress.pause, undefined, { signal: progress.signal }).catch(() => undefined);
    }
  }
  return { batches, interrupted: false };
}
