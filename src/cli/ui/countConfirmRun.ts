import { CancelledError } from '../../errors.js';
import type { RunContext } from '../context.js';
import { confirmDestructive } from './prompt.js';

// How every batched destructive command (tasks prune, contexts prune, tasks fail) talks to the
// operator: what will change, the question, progress, what changed.

export interface DestructiveFlags {
  dryRun?: boolean;
  yes?: boolean;
  batchSize?: string;
}

interface Outcome {
  dry_run: boolean;
  interrupted: boolean;
}

/**
 * The one flow of every destructive retention command: the plan (on stdout for a dry run, else
 * on stderr before the question), the confirmation, the batches under a spinner, the result.
 * Interrupted, it still prints what was done, then exits 130.
 */
export async function countConfirmRun<R extends Outcome>(
  ctx: RunContext,
  flags: DestructiveFlags,
  spec: {
    plan: string[];
    /** Nothing matches: what to say instead of asking. */
    empty: boolean;
    nothing: string;
    action: string;
    command: string;
    dryRun(): R;
    /** The batches: stopped by `signal` between them, each run through `whole`. */
    run(progress: { onBatch(text: string): void; signal: AbortSignal; whole: RunContext['whole'] }): Promise<R>;
    summary(result: R): string;
  },
): Promise<void> {
  // The JSON document is the result; whether the run was cut short is what the exit code says.
  const report = (result: R) => {
    if (!ctx.out.json) return ctx.out.print(spec.summary(result));
    const { interrupted: _i, skipped: _s, ...doc } = result as R & { skipped?: number };
    ctx.out.document(doc);
  };
  if (spec.empty && !flags.dryRun) {
    if (ctx.out.json) return report({ ...spec.dryRun(), dry_run: false });
    return ctx.out.print(spec.nothing);
  }
  if (flags.dryRun) {
    if (!ctx.out.json) ctx.out.print(...spec.plan);
    return report(spec.dryRun());
  }
  if (!ctx.out.json) for (const line of spec.plan) ctx.out.notice(line);
  await confirmDestructive({ action: spec.action, yes: flags.yes === true, interactive: ctx.interactive, command: spec.command });
  const onAbort = () => ctx.out.notice('interrupted: stopping after the batch in flight (it commits or rolls back whole)');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const { withSpinner } = await import('./spinner.js');
  let result: R;
  try {
    result = await withSpinner(spec.action, !ctx.out.json, (update) => spec.run({ onBatch: update, signal: ctx.signal, whole: ctx.whole }));
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  report(result);
  if (result.interrupted) throw new CancelledError('interrupted: what is reported above was done and stays done; run the same command again to go on');
}
