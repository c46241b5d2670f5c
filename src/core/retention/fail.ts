import type { Source } from '../../db/inspect/source.js';
import * as repo from '../../db/retention.js';
import { LIVE_STATUSES } from '../../db/types.js';
import { OperationError, UsageError } from '../../errors.js';
import { parseUuid } from '../inspectInput.js';
import { type Interruption, parseBatchSize, parseOlderThan, runBatches, storedIn } from './batches.js';

// tasks fail: marks live tasks failed the way Bindu's server does, either the tasks named or
// every stuck one. Plan first (counts, nothing changed), then batches.

export interface FailInput {
  ids: string[];
  /** --stuck <dur>: every live task not updated for that long. */
  stuck?: string;
  reason?: string;
  batchSize?: string;
}

export interface FailOptions {
  ids: string[];
  cutoff: Date | null;
  reason: string;
  batchSize: number;
}

const MAX_REASON = 2000;

export function parseFail(input: FailInput): FailOptions {
  if (input.ids.length && input.stuck !== undefined) throw new UsageError('give task ids or --stuck <dur>, not both');
  if (!input.ids.length && input.stuck === undefined) throw new UsageError('which tasks? give task ids, or --stuck <dur> for every live task not updated for that long', 'e.g. bindu-db tasks fail --stuck 2h --reason "worker restarted"');
  const ids = [...new Set(input.ids.map((id) => parseUuid(id, 'task id')))];
  const cutoff = input.stuck !== undefined ? parseOlderThan(input.stuck, '--stuck') : null;
  const reason = (input.reason ?? defaultReason(input.stuck)).trim();
  if (!reason || reason.length > MAX_REASON) throw new UsageError(`--reason must be 1 to ${MAX_REASON} characters`);
  return { ids, cutoff, reason, batchSize: parseBatchSize(input.batchSize) };
}

function defaultReason(stuck: string | undefined): string {
  return stuck !== undefined ? `Task marked failed by an operator: no progress for ${stuck.trim()} (bindu-db tasks fail --stuck)` : 'Task marked failed by an operator (bindu-db tasks fail)';
}

export interface FailTarget {
  source: Source;
  criteria: repo.FailCriteria;
  /** Named tasks that are live (ids mode). */
  live: string[];
  /** How many would be marked failed. */
  toFail: number;
  /** Named tasks already finished: left alone. */
  finished: number;
}

export interface FailPlan extends FailOptions {
  targets: FailTarget[];
  total: { to_fail: number; finished: number; not_found: number };
}

export async function planFail(sources: Source[], input: FailInput): Promise<FailPlan> {
  const options = parseFail(input);
  const targets: FailTarget[] = [];
  const foundSomewhere = new Set<string>();
  for (const source of sources) {
    const stored = storedIn(source, LIVE_STATUSES);
    if (options.cutoff) {
      const criteria = { stored, before: options.cutoff };
      targets.push({ source, criteria, live: [], toFail: await repo.countStaleTasks(source, criteria), finished: 0 });
      continue;
    }
    const statuses = await repo.taskStatuses(source, options.ids);
    for (const id of statuses.keys()) foundSomewhere.add(id);
    const live = options.ids.filter((id) => stored.includes(statuses.get(id) ?? ''));
    targets.push({ source, criteria: { stored }, live, toFail: live.length, finished: statuses.size - live.length });
  }
  const sum = (f: (t: FailTarget) => number) => targets.reduce((n, t) => n + f(t), 0);
  // Named tasks none of which exists: a typo, not "nothing to do" (a script would read exit 0 as done).
  const missing = options.ids.filter((id) => !foundSomewhere.has(id));
  if (!options.cutoff && missing.length === options.ids.length) {
    throw new OperationError(missing.length === 1 ? `task ${missing[0]} not found` : `none of the ${missing.length} tasks named was found`, `list tasks with: bindu-db tasks list${sources.length > 1 ? ' --all-schemas' : ''}`);
  }
  // Across schemas, an id is not found only when no schema holds it.
  return { ...options, targets, total: { to_fail: sum((t) => t.toFail), finished: sum((t) => t.finished), not_found: options.cutoff ? 0 : options.ids.length - foundSomewhere.size } };
}

export interface FailResult {
  failed: number;
  /** Finished (or, with --stuck, updated) by the time its batch ran, or named but already finished: not changed. */
  left_alone: number;
  /** Held by another session: skipped, still live; run again. */
  locked: number;
  not_found: number;
  batches: number;
  dry_run: boolean;
  interrupted: boolean;
}

export function failDryRun(plan: FailPlan): FailResult {
  return { failed: plan.total.to_fail, left_alone: plan.total.finished, locked: 0, not_found: plan.total.not_found, batches: Math.ceil(plan.total.to_fail / plan.batchSize), dry_run: true, interrupted: false };
}

export async function failTasks(plan: FailPlan, progress: Interruption & { onBatch?(failed: number, batches: number): void } = {}): Promise<FailResult> {
  const result: FailResult = { failed: 0, left_alone: plan.total.finished, locked: 0, not_found: plan.total.not_found, batches: 0, dry_run: false, interrupted: false };
  const record = (r: repo.FailBatchResult) => {
    result.failed += r.failed;
    result.locked += r.locked;
    result.left_alone += r.leftAlone;
  };
  // With --stuck the batches walk the stale tasks (keyed by where the last batch ended);
  // with ids they take the named live tasks a batch at a time (keyed by position).
  const { cutoff } = plan;
  const step = async (target: FailTarget, after: repo.BatchKey | number | undefined): Promise<repo.BatchKey | number | undefined> => {
    if (cutoff) {
      const next = await repo.nextStaleTasks(target.source, { ...target.criteria, before: cutoff }, { after: after as repo.BatchKey | undefined, limit: plan.batchSize });
      if (next.ids.length) record(await repo.failTasks(target.source, next.ids, target.criteria, plan.reason));
      return next.last;
    }
    const offset = (after as number | undefined) ?? 0;
    const ids = target.live.slice(offset, offset + plan.batchSize);
    if (ids.length === 0) return undefined;
    record(await repo.failTasks(target.source, ids, target.criteria, plan.reason));
    return offset + ids.length;
  };
  const run = await runBatches(plan.targets.filter((t) => t.toFail > 0), step, { ...progress, onBatch: (batches) => progress.onBatch?.(result.failed, batches) });
  return { ...result, batches: run.batches, interrupted: run.interrupted };
}
