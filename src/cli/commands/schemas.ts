import type { Command } from 'commander';
import { run } from '../run.js';
import { examples } from '../options.js';
import { formatTable, formatTime } from '../ui/format.js';

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas');

  schemas
    .command('list')
    .description('every schema with Bindu tables: layout, task count, last activity')
    .addHelpText('after', examples('bindu-db schemas list', 'bindu-db tasks list --schema did_bindu_acme_at_example_com_echo_agent_438b4_97079c1f --status failed'))
    .action(
      run(async (ctx) => {
        const core = await import('../../core/schemas.js');
        const items = await core.schemas(await ctx.db({ autoMigrate: true }));
        if (ctx.out.json) return ctx.out.document({ items: items.map(({ schema, layout, tasks, last_activity }) => ({ schema, layout, tasks, last_activity })) });
        if (items.length === 0) return ctx.out.print('No schema holds Bindu tables yet (run bindu-db migrate up).');
        const c = ctx.out.color;
        ctx.out.print(
          ...formatTable(
            ['SCHEMA', 'LAYOUT', 'TASKS', 'LAST ACTIVITY'],
            items.map((s) => [s.schema, s.layout === 'bindu-db' ? c.cyan(s.layout) : c.magenta(s.layout), String(s.tasks), formatTime(s.last_activity)]),
            c.bold,
          ),
        );
      }),
    );
}
