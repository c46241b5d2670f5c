import type { Command } from 'commander';
import { OperationError } from '../../errors.js';
import { run } from '../run.js';
import { examples } from '../options.js';
import { plural } from '../ui/format.js';

export function registerSeed(program: Command): void {
  const seed = program.command('seed').description('load sample data');

  seed
    .command('run')
    .description('load the sample dataset from seeds/ (idempotent: run twice, same rows)')
    .addHelpText('after', examples('bindu-db seed run', 'bindu-db seed run && bindu-db migrate history'))
    .action(
      run(async (ctx) => {
        const db = await ctx.db({ autoMigrate: true });
        const { pendingMigrations } = await import('../../core/migrations.js');
        const pending = await pendingMigrations(db, await ctx.migrations());
        if (pending.length) throw new OperationError(`${plural(pending.length, 'migration')} pending: ${pending.join(', ')}`, 'run bindu-db migrate up first');
        const { runSeeds } = await import('../../core/seeds.js');
        const result = await runSeeds(db, ctx.config.seedsDir, (file) => ctx.out.notice(`→ ${file}`));
        if (ctx.out.json) return ctx.out.document(result);
        ctx.out.print(`Loaded ${plural(result.files.length, 'seed file')} into ${db.label}.`);
      }),
    );
}
