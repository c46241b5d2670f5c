import type { Command } from 'commander';
import type { GlobalOptions, RunContext } from './context.js';

// Kept apart from context.ts so that declaring commands loads nothing heavy: the context (and
// with it chalk, knex, pg or PGlite) is imported only when an action actually runs.

/** How long an interrupted action may take to wind down by itself (see ctx.signal). */
const GRACE_MS = 1500;

/**
 * Wraps a command action: builds the context, runs the handler, always closes the database,
 * and turns an error into one printed line and an exit code.
 *
 * Ctrl-C or SIGTERM aborts ctx.signal. An action that listens (backup) cleans up and throws
 * CancelledError. One that does not (a migration stops only between migrations) is given a
 * moment, then the process exits 130.
 */
export function run<O extends object = object, P extends unknown[] = []>(
  handler: (ctx: RunContext, opts: O & GlobalOptions, ...positionals: P) => Promise<void>,
) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<O & GlobalOptions>();
    const { createContext, reportError } = await import('./context.js');
    const controller = new AbortController();
    let ctx: RunContext | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) process.exit(130); // a second Ctrl-C: now
      controller.abort(signal);
      setTimeout(() => {
        ctx?.out.notice(`interrupted (${signal}): stopping`);
        // PostgreSQL: just go; the server rolls back what the dropped connection left open.
        // Embedded: shut PGlite down cleanly first, so its data directory is never cut mid-write.
        if (ctx?.config.target.kind !== 'embedded') process.exit(130);
        void Promise.race([ctx.close(), new Promise((r) => setTimeout(r, 3000))]).finally(() => process.exit(130));
      }, GRACE_MS).unref();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      ctx = createContext(opts, controller.signal);
      await handler(ctx, opts, ...(args.slice(0, -2) as P));
    } catch (err) {
      const { createOutput } = await import('./ui/output.js');
      process.exitCode = reportError(err, ctx?.out ?? createOutput({ json: false }), opts.debug === true);
    } finally {
      await ctx?.close().catch(() => undefined);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (controller.signal.aborted && !process.exitCode) process.exitCode = 130;
    }
  };
}
