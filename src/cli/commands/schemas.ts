import type { Command } from 'commander';
import { run } from '../run.js';
import { examples } from '../options.js';
import { formatTable, formatTime, plural, visible, visibleLine } from '../ui/format.js';

const fmt = () => import('../ui/fleetFormat.js');

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').addHelpText('after', examples('bindu-db schemas list', 'bindu-db schemas doctor'));

  schemas
    .command('list')
    .description('every schema with Bindu tables: layout, task count, last activity')
    .addHelpText('after', examples('bindu-db schemas list', 'bindu-db tasks list --schema did_bindu_acme_example_com_echo_agent_438b4 --status failed'))
    .action(
      run(async (ctx) => {
        const core = await import('../../core/schemas.js');
        const items = await core.schemas(await ctx.db({ autoMigrate: true }));
        const unreadable = items.filter((s) => !s.readable).length;
        if (unreadable) ctx.out.notice(`this role cannot read ${plural(unreadable, 'schema')}; their tasks are not counted`);
        if (ctx.out.json) return ctx.out.document({ items: items.map(({ schema, layout, tasks, last_activity, readable }) => ({ schema, layout, tasks, last_activity, readable })) });
        if (items.length === 0) return ctx.out.print('No schema holds Bindu tables yet (run bindu-db migrate up).');
        const c = ctx.out.color;
        ctx.out.print(
          ...formatTable(
            ['SCHEMA', 'LAYOUT', 'TASKS', 'LAST ACTIVITY'],
            items.map((s) => [visible(s.schema), s.layout === 'bindu-db' ? c.cyan(s.layout) : c.magenta(s.layout), s.tasks === null ? '-' : String(s.tasks), s.readable ? formatTime(s.last_activity) : '(not readable)']),
            c.bold,
            { width: ctx.out.width, shrink: [0] },
          ),
        );
      }),
    );

  schemas
    .command('doctor')
    .description("each schema's differences from what its layout should be (every schema, or each --schema given; read-only; exit 3 when any is found)")
    .addHelpText('after', examples('bindu-db schemas doctor', 'bindu-db schemas doctor --schema did:bindu:acme_at_example_com:echo_agent:<uuid> --json', 'bindu-db schemas doctor || bindu-db schemas repair --dry-run'))
    .action(
      run(async (ctx) => {
        const { doctor } = await import('../../core/fleet/doctor.js');
        const result = await doctor(await ctx.db(), ctx.config.schemasGiven);
        const f = await fmt();
        if (ctx.out.json) ctx.out.document(result);
        else ctx.out.print(...f.formatDoctor(result, ctx.out.color));
        if (result.errors + result.warnings > 0) {
          const { DriftFoundError } = await import('../../errors.js');
          throw new DriftFoundError(`${f.doctorSummary(result)}; fix what can be fixed with: bindu-db schemas repair`);
        }
        if (!ctx.out.json) ctx.out.notice(f.doctorSummary(result));
      }),
    );

  schemas
    .command('repair')
    .description('add what doctor finds missing (nullable columns, defaults, indexes, triggers); never drops, retypes or rewrites data (every schema, or each --schema given)')
    .option('--dry-run', 'print the SQL and change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', examples('bindu-db schemas repair --dry-run', 'bindu-db schemas repair --yes', 'bindu-db schemas repair --schema did_bindu_acme_at_example_com_echo_agent_438b4_97079c1f'))
    .action(
      run<{ dryRun?: boolean }>(async (ctx, opts) => {
        const core = await import('../../core/fleet/repair.js');
        const f = await fmt();
        const db = await ctx.db({ dryRun: opts.dryRun });
        const plans = await core.planRepair(db, ctx.config.schemasGiven);
        const count = plans.reduce((n, p) => n + p.statements.length, 0);
        if (opts.dryRun) {
          if (ctx.out.json) return ctx.out.document({ dry_run: true, schemas: plans.map((p) => ({ schema: p.schema, layout: p.layout, statements: p.statements.map((s) => s.sql), left: p.left.map(({ fix: _, ...f }) => f) })) });
          return ctx.out.print(...f.formatRepairSql(plans, core.DEFAULT_DDL_LOCK_TIMEOUT_SECONDS));
        }
        if (count > 0) {
          const { confirmDestructive } = await import('../ui/prompt.js');
          const touched = plans.filter((p) => p.statements.length).length;
          await confirmDestructive({
            action: `repair ${plural(touched, 'schema')} (${plural(count, 'statement')}) on ${db.label}`,
            warning: 'Only adds columns, defaults, indexes and triggers; see them first with --dry-run.',
            yes: opts.yes === true,
            interactive: ctx.interactive,
            command: 'bindu-db schemas repair',
          });
        }
        const result = await core.applyRepair(db, plans, { signal: ctx.signal, onSchema: (s) => ctx.out.notice(`repairing ${s}`) });
        const left = result.after.flatMap((s) => s.findings);
        if (ctx.out.json) return ctx.out.document({ dry_run: false, repaired: result.schemas, left });
        ctx.out.print(...(result.schemas.length ? result.schemas.map((s) => `repaired ${visibleLine(s.schema)} (${plural(s.statements, 'statement')})`) : ['Nothing to repair.']));
        for (const finding of left) ctx.out.warn(`left for a person: ${f.formatFinding(finding, ctx.out.color)}`);
      }),
    );

  schemas
    .command('backfill-owner')
    .description("set owner_did where it is null on tasks and contexts, in batches, as Bindu's backfill script does")
    .option('--owner-did <did>', 'the owner to give every task and context that has none')
    .option('--dry-run', 'count the rows and change nothing')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', examples('bindu-db schemas backfill-owner --owner-did did:bindu:legacy --dry-run', 'bindu-db schemas backfill-owner --owner-did did:bindu:legacy --schema <agent schema> --yes'))
    .action(
      run<{ ownerDid?: string; dryRun?: boolean }>(async (ctx, opts) => {
        const core = await import('../../core/fleet/backfillOwner.js');
        const input = { ownerDid: opts.ownerDid, schemas: ctx.config.schemasGiven, signal: ctx.signal };
        core.parseBackfill(input); // bad flags fail before connecting
        const db = await ctx.db();
        if (!opts.dryRun) {
          const counted = await core.backfillOwner(db, { ...input, dryRun: true });
          const rows = counted.schemas.reduce((n, s) => n + s.tasks + s.contexts, 0);
          if (rows > 0) {
            const { confirmDestructive } = await import('../ui/prompt.js');
            await confirmDestructive({
              action: `set owner_did = ${counted.owner_did} on ${plural(rows, 'row')} in ${plural(counted.schemas.length, 'schema')} of ${db.label}`,
              warning: 'Rows that already have an owner are not touched.',
              yes: opts.yes === true,
              interactive: ctx.interactive,
              command: 'bindu-db schemas backfill-owner',
            });
          }
        }
        const result = await core.backfillOwner(db, { ...input, dryRun: opts.dryRun });
        for (const s of result.skipped) ctx.out.notice(`skipped ${s.schema}: ${s.reason}`);
        if (ctx.out.json) return ctx.out.document(result);
        ctx.out.print(...(await fmt()).formatBackfill(result, ctx.out.color));
      }),
    );
}
