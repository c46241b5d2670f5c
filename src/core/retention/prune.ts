import type { Source } from '../../db/inspect/source.js';
import * as repo from '../../db/retention.js';
import { TERMINAL_STATUSES, type TaskStatus } from '../../db/types.js';
import { OperationError, UsageError } from '../../errors.js';
import { LockHeldError } from '../../lib/fileLock.js';
import { archiveProblem, openJsonlArchive } from '../../lib/jsonlArchive.js';
import { maskSecrets } from '../../lib/redact.js';
import { plural } from '../../lib/words.js';
import { parseStatuses } from '../inspectInput.js';
import { type Interruption, parseBatchSize, parseOlderThan, runBatches, storedIn } from './batches.js';

// tasks prune and contexts prune: plan (count what would go, per schema), then delete batch by
// batch. Planning changes nothing, so --dry-run and the confirmation both come before any delete.

export type { PruneCounts } from '../../db/retention.js';
type PruneCounts = repo.PruneCounts;

export interface TaskPruneInput {
  olderThan: string;
  status?: string;
  batchSize?: string;
  archive?: string;
}

/** The flags, validated: a usage error comes before any connection. */
export interface TaskPruneOptions {
  cutoff: Date;
  statuses: TaskStatus[];
  batchSize: number;
  archive: string | null;
}

const TERMINAL_HINT = `tasks prune deletes only finished tasks: ${TERMINAL_STATUSES.join(', ')}`;

export function parseTaskPrune(input: TaskPruneInput): TaskPruneOptions {
  const statuses = input.status !== undefined ? parseStatuses(input.status) : [...TERMINAL_STATUSES];
  const live = statuses.filter((s) => !(TERMINAL_STATUSES as readonly string[]).includes(s));
  if (live.length) throw new UsageError(`--status ${live.join(',')}: ${live.length === 1 ? 'a live status' : 'live statuses'}; tasks prune never deletes a task still in progress`, `${TERMINAL_HINT}; stuck tasks can be failed first (bindu-db tasks fail --stuck <dur>)`);
  const archive = input.archive?.trim();
  if (archive !== undefined && !/\.jsonl(\.gz)?$/i.test(archive)) throw new UsageError(`--archive ${JSON.stringify(archive)}: the archive is JSON Lines`, 'name it <file>.jsonl, or <file>.jsonl.gz to compress it');
  return { cutoff: parseOlderThan(input.olderThan), statuses, batchSize: parseBatchSize(input.batchSize), archive: archive || null };
}

/** One schema's share of a prune. */
export interface TaskPruneTarget {
  source: Source;
  criteria: repo.PruneCriteria;
  counts: PruneCounts;
}

export interface TaskPrunePlan extends TaskPruneOptions {
  targets: TaskPruneTarget[];
  total: PruneCounts;
}

const zero = (): PruneCounts => ({ tasks: 0, task_feedback: 0, webhook_configs: 0 });
const add = (a: PruneCounts, b: PruneCounts): PruneCounts => ({ tasks: a.tasks + b.tasks, task_feedback: a.task_feedback + b.task_feedback, webhook_configs: a.webhook_configs + b.webhook_configs });

/** Counts, per schema, the tasks that would go and the feedback and webhook rows they take along. */
export async function planTaskPrune(sources: Source[], input: TaskPruneInput): Promise<TaskPrunePlan> {
  const options = parseTaskPrune(input);
  // Found out now, before the question, not after the operator said yes.
  const problem = options.archive && archiveProblem(options.archive);
  if (problem) throw new OperationError(`--archive: ${problem}`, 'nothing was deleted');
  const targets: TaskPruneTarget[] = [];
  for (const source of sources) {
    const stored = storedIn(source, options.statuses);
    if (stored.length === 0) continue;
    const criteria = { stored, before: options.cutoff };
    targets.push({ source, criteria, counts: await repo.countPrunableTasks(source, criteria) });
  }
  if (targets.length === 0) {
    throw new UsageError(`--status ${options.statuses.join(',')}: no such status in ${sources.map((s) => `schema "${s.schema}" (${s.layout.name} layout)`).join(', ')}`, 'canceled and rejected exist only in Bindu server schemas');
  }
  return { ...options, targets, total: targets.reduce((sum, t) => add(sum, t.counts), zero()) };
}

export interface PruneProgress extends Interruption {
  /** Called after each committed batch, with the totals so far. */
  onBatch?(deleted: PruneCounts, batches: number): void;
}

export interface TaskPruneResult {
  deleted: PruneCounts;
  batches: number;
  archive: string | null;
  dry_run: boolean;
  /** Stopped by the signal before the end: run again to go on. */
  interrupted: boolean;
  /** Counted but not deleted: held by another session (skipped, not waited for) or changed since the count; the next run takes what still matches. */
  skipped: number;
}

/**
 * Deletes what the plan counted, batch by batch. With an archive, each batch's tasks (every
 * column, their feedback, their webhook config with secrets masked) are appended and fsynced
 * before that batch's delete commits: an interrupted run leaves no deleted task unarchived
 * (at worst a task archived twice, when the process dies between the two).
 */
export async function pruneTasks(plan: TaskPrunePlan, progress: PruneProgress = {}): Promise<TaskPruneResult> {
  let deleted = zero();
  let archive: Awaited<ReturnType<typeof openJsonlArchive>> | undefined;
  if (plan.archive && plan.total.tasks > 0) {
    try {
      archive = await openJsonlArchive(plan.archive);
    } catch (err) {
      const hint = err instanceof LockHeldError ? 'another run is appending to it; nothing was deleted' : 'nothing was deleted';
      throw new OperationError(`cannot open the archive ${plan.archive}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, hint, err);
    }
  }
  try {
    const run = await runBatches<TaskPruneTarget, repo.BatchKey>(
      plan.targets.filter((t) => t.counts.tasks > 0),
      async (target, after) => {
        const write = archive ? archiveBatch(appendOrFail(archive, () => deleted), target.source) : undefined;
        const batch = await repo.pruneTaskBatch(target.source, target.criteria, { after, limit: plan.batchSize, archive: write });
        deleted = add(deleted, batch.deleted);
        return batch.last;
      },
      { ...progress, onBatch: (batches) => progress.onBatch?.(deleted, batches) },
    );
    // Counted but not deleted: held by another session when its batch came (SKIP LOCKED), or
    // changed since the count. Re-counting would cost another pass over the table.
    const skipped = run.interrupted ? 0 : Math.max(0, plan.total.tasks - deleted.tasks);
    return { deleted, batches: run.batches, archive: plan.archive, dry_run: false, interrupted: run.interrupted, skipped };
  } finally {
    await archive?.close();
  }
}

/** The archive's append, its failure (a full disk) an error saying what stayed: the batch it was for is not deleted. */
function appendOrFail(archive: Awaited<ReturnType<typeof openJsonlArchive>>, deletedSoFar: () => PruneCounts) {
  return async (lines: string[]) => {
    try {
      await archive.append(lines);
    } catch (err) {
      const before = deletedSoFar().tasks;
      throw new OperationError(`cannot write the archive ${archive.file}: ${(err as Error).message}`, `this batch was not deleted; ${before ? `what was deleted before it (${plural(before, 'task')}) is in the archive` : 'nothing was deleted'}`, err);
    }
  };
}

/** The archive's lines for a batch: one JSON document per task. */
function archiveBatch(append: (lines: string[]) => Promise<void>, source: Source) {
  const head = `{"schema":${JSON.stringify(source.schema)},"layout":${JSON.stringify(source.layout.name)}`;
  return (tasks: repo.ArchivedTask[]) =>
    append(tasks.map((t) => {
      const webhook = t.webhook && { ...t.webhook, config: maskSecrets(t.webhook.config) };
      return `${head},"task":${t.task},"feedback":${t.feedback},"webhook_config":${JSON.stringify(webhook)}}`;
    }));
}

/** What a dry run reports: the counts, nothing deleted. */
export function dryRunResult(plan: TaskPrunePlan): TaskPruneResult {
  return { deleted: plan.total, batches: Math.ceil(plan.total.tasks / plan.batchSize), archive: plan.archive, dry_run: true, interrupted: false, skipped: 0 };
}

export interface ContextPruneInput {
  olderThan: string;
  empty?: boolean;
  batchSize?: string;
}

export interface ContextPrunePlan {
  cutoff: Date;
  batchSize: number;
  targets: Array<{ source: Source; contexts: number }>;
  total: number;
}

export function parseContextPrune(input: ContextPruneInput): { cutoff: Date; batchSize: number } {
  // Only empty contexts, and said so: deleting a context deletes its tasks (the foreign key cascades).
  if (!input.empty) throw new UsageError('contexts prune deletes only contexts that hold no task: add --empty', 'to delete old tasks first: bindu-db tasks prune --older-than <dur>');
  return { cutoff: parseOlderThan(input.olderThan), batchSize: parseBatchSize(input.batchSize) };
}

export async function planContextPrune(sources: Source[], input: ContextPruneInput): Promise<ContextPrunePlan> {
  const options = parseContextPrune(input);
  const targets = [];
  for (const source of sources) targets.push({ source, contexts: await repo.countEmptyContexts(source, options.cutoff) });
  return { ...options, targets, total: targets.reduce((n, t) => n + t.contexts, 0) };
}

export interface ContextPruneResult {
  deleted: { contexts: number };
  batches: number;
  dry_run: boolean;
  interrupted: boolean;
}

export async function pruneContexts(plan: ContextPrunePlan, progress: Interruption & { onBatch?(deleted: number, batches: number): void } = {}): Promise<ContextPruneResult> {
  let deleted = 0;
  const run = await runBatches<ContextPrunePlan['targets'][number], string>(
    plan.targets.filter((t) => t.contexts > 0),
    async (target, after) => {
      const batch = await repo.pruneContextBatch(target.source, plan.cutoff, { after, limit: plan.batchSize });
      deleted += batch.deleted;
      return batch.last;
    },
    { ...progress, onBatch: (batches) => progress.onBatch?.(deleted, batches) },
  );
  return { deleted: { contexts: deleted }, batches: run.batches, dry_run: false, interrupted: run.interrupted };
}
