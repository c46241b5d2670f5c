import type { Source } from '../../db/inspect/source.js';
import type { TaskStatus } from '../../db/types.js';
import { UsageError } from '../../errors.js';
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
 * in flight always finishes, through `whole`. `onBatch` gets the number of batches done so far.
 */
export async function runBatches<T, K>(
  targets: readonly T[],
  step: (target: T, after: K | undefined) => Promise<K | undefined>,
  progress: Interruption & { onBatch?(batches: number): void },
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
      after = await whole(() => step(target, from));
      if (after === undefined) break;
      batches++;
      progress.onBatch?.(batches);
    }
  }
  return { batches, interrupted: false };
}
