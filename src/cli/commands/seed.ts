import type { Command } from 'commander';
import { OperationError } from '../../errors.js';
import { run } from '../run.js';
import { countUpTo, examples } from '../options.js';
import { plural } from '../ui/format.js';

/** Far more rows than a test database needs, and well within generate_series' integers. */
const MAX_GENERATED = 100_000_000;
/** What a generated task (with its share of contexts and feedback) takes on disk, about. */
const BYTES_PER_TASK = 3_000;

export function registerSeed(program: Command): void {
  const seed = program.command('seed').addHelpText('after', examples('bindu-db seed run', 'bindu-db seed generate --tasks 100000'));

  seed
    .command('run')
    .description('load the sample dataset from seeds/ (idempotent: run twice, same rows)')
    .addHelpText('after', examples('bindu-db seed run', 'bindu-db seed run && bindu-db migrate history'))
    .action(
      run(async (ctx) => {
        const { runSeeds, seedFiles } = await import('../../core/seeds.js');
        const files = seedFiles(ctx.config.seedsDir);
        const db = await ctx.db({ autoMigrate: true });
        const { pendingMigrations } = await import('../../core/migrations.js');
        const pending = await pendingMigrations(db, await ctx.migrations());
        if (pending.length) throw new OperationError(`${plural(pending.length, 'migration')} pending: ${pending.join(', ')}`, 'run bindu-db migrate up first');
        const result = await runSeeds(db, ctx.config.seedsDir, files, { signal: ctx.signal, onFile: (file) => ctx.out.notice(`→ ${file}`) });
        if (ctx.out.json) return ctx.out.document(result);
        ctx.out.print(`Loaded ${plural(result.files.length, 'seed file')} into ${db.label}.`);
      }),
    );

  seed
    .command('generate')
    .description('bulk synthetic tasks, contexts and feedback, generated inside the database (1% of tasks failed)')
    .requiredOption('--tasks <n>', `how many tasks (at most ${MAX_GENERATED.toLocaleString('en-US')})`, countUpTo(MAX_GENERATED))
    .option('--contexts <m>', 'how many contexts to spread them over (default: tasks / 10)', countUpTo(MAX_GENERATED))
    .option('-y, --yes', 'insert even when the database already holds tasks or contexts')
    .addHelpText(
      'after',
      `${examples('bindu-db seed generate --tasks 1000000', 'bindu-db seed generate --tasks 5000 --contexts 50 --yes')}

Interrupted (Ctrl-C: exit 130; SIGTERM: 143), it stops within about a second and leaves:
  on PostgreSQL, the contexts (inserted first, in a transaction of their own) and every
  slice of tasks that had committed (up to 4 run at once, each all or nothing); the slices
  still running are cancelled on the server, and roll back, before it exits.
  on the embedded database, nothing: it all runs in one transaction, rolled back. Only
  once that has committed (the statistics refresh at the end) do the rows stay.
Run it again with --yes to add more, or empty the tables first.`,
    )
    .action(
      run<{ tasks: number; contexts?: number }>(async (ctx, opts) => {
        const db = await ctx.db({ autoMigrate: true, work: opts.tasks * BYTES_PER_TASK });
        const { pendingMigrations } = await import('../../core/migrations.js');
        const pending = await pendingMigrations(db, await ctx.migrations());
        if (pending.length) throw new OperationError(`${plural(pending.length, 'migration')} pending: ${pending.join(', ')}`, 'run bindu-db migrate up first');
        ctx.out.notice(`generating ${plural(opts.tasks, 'task')}…`);
        const { generateData } = await import('../../core/inspect.js');
        const result = await generateData(db, { tasks: opts.tasks, contexts: opts.contexts, yes: opts.yes === true, signal: ctx.signal });
        if (ctx.out.json) return ctx.out.document(result);
        ctx.out.print(`Generated ${plural(result.tasks, 'task')}, ${plural(result.contexts, 'context')} and ${plural(result.feedback, 'feedback row')} in ${result.seconds.toFixed(1)} s.`);
      }),
    );
}
