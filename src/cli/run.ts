import type { Command } from 'commander';
import type { GlobalOptions, RunContext } from './context.js';

// Kept apart from context.ts so that declaring commands loads nothing heavy: the context (and
// with it chalk, knex, pg or PGlite) is imported only when an action actually runs.

/** How long an interrupted action may take to wind down by itself (see ctx.signal). */
const GRACE_MS = 3000;

/** The exit code of an interrupted run: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, on every command. */
export const signalExitCode = (signal: unknown): number => (signal === 'SIGTERM' ? 143 : 130);

/** `backup verify`, `tasks list`: the command's names below the program's. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Wraps a command action: builds the context, runs the handler, always closes the database,
 * and turns an error into one printed line and an exit code.
 *
 * The one interrupt mechanism of every command: SIGINT or SIGTERM aborts ctx.signal. An action
 * that listens (backup, restore, seed, export) kills its tools, removes its temporary files and
 * throws. One that does not stop in time (a migration stops only between migrations), or a second
 * Ctrl-C, ends the process, after the cleanups registered with atExit (tools' process groups
 * killed, temporary files removed) have run. Work run through ctx.whole (a retention batch, its
 * archive lines written and its delete committing) is waited for past the grace period: the
 * action stops right after it and reports it, which a cut would lose.
 */
export function run<O extends object = object, P extends unknown[] = []>(
  handler: (ctx: RunContext, opts: O & GlobalOptions, ...positionals: P) => Promise<void>,
) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<O & GlobalOptions>();
    const { createContext, reportError } = await import('./context.js');
    const { runExitCleanups } = await import('../lib/process.js');
    const controller = new AbortController();
    let ctx: RunContext | undefined;
    let inFlight = 0;
    let waitingSaid = false;
    const whole = async <T>(work: () => Promise<T>): Promise<T> => {
      inFlight++;
      try {
        return await work();
      } finally {
        inFlight--;
      }
    };
    const exitNow = () => {
      runExitCleanups();
      process.exit(signalExitCode(controller.signal.reason));
    };
    const graceOver = (signal: NodeJS.Signals) => {
      if (inFlight > 0) {
        if (!waitingSaid) ctx?.out.notice(`interrupted (${signal}): still waiting for the work in flight to end whole (Ctrl-C again to stop now)`);
        waitingSaid = true;
        setTimeout(() => graceOver(signal), GRACE_MS).unref();
        return;
      }
      ctx?.out.notice(`interrupted (${signal}): stopping`);
      // PostgreSQL: just go; the server rolls back what the dropped connection left open.
      // Embedded: shut PGlite down cleanly first, so its data directory is never cut mid-write.
      if (ctx?.config.target.kind !== 'embedded') return exitNow();
      void Promise.race([ctx.close(), new Promise((r) => setTimeout(r, 3000))]).finally(exitNow);
    };
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) return exitNow(); // a second Ctrl-C: now
      controller.abort(signal);
      setTimeout(() => graceOver(signal), GRACE_MS).unref();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      ctx = createContext(opts, { signal: controller.signal, whole }, commandPath(command));
      await handler(ctx, opts, ...(args.slice(0, -2) as P));
    } catch (err) {
      const { createOutput } = await import('./ui/output.js');
      process.exitCode = reportError(err, ctx?.out ?? createOutput({ json: false }), opts.debug === true);
    } finally {
      await ctx?.close().catch(() => undefined);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      // Interrupted: the signal decides the code, whatever error the interrupted work ended with.
      if (controller.signal.aborted) process.exitCode = signalExitCode(controller.signal.reason);
    }
  };
}
