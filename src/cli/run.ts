import type { Command } from 'commander';
import type { GlobalOptions, RunContext } from './context.js';

// Kept apart from context.ts so that declaring commands loads nothing heavy: the context (and
// with it chalk, knex, pg or PGlite) is imported only when an action actually runs.

/**
 * Wraps a command action: builds the context, runs the handler, always closes the database,
 * and turns an error into one printed line and an exit code.
 */
export function run<O extends object = object, P extends unknown[] = []>(
  handler: (ctx: RunContext, opts: O & GlobalOptions, ...positionals: P) => Promise<void>,
) {
  return async (...args: unknown[]): Promise<void> => {
    const command = args.at(-1) as Command;
    const opts = command.optsWithGlobals<O & GlobalOptions>();
    const { createContext, reportError } = await import('./context.js');
    let ctx: RunContext | undefined;
    try {
      ctx = createContext(opts);
      await handler(ctx, opts, ...(args.slice(0, -2) as P));
    } catch (err) {
      const { createOutput } = await import('./ui/output.js');
      process.exitCode = reportError(err, ctx?.out ?? createOutput({ json: false }), opts.debug === true);
    } finally {
      await ctx?.close().catch(() => undefined);
    }
  };
}
