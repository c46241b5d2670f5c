import type { Command } from 'commander';
import type { Database } from '../../db/connect.js';
import type { Page } from '../../db/types.js';
import type { RunContext } from '../context.js';
import { examples } from '../options.js';
import { run } from '../run.js';
import { plural } from '../ui/format.js';
import { type DestructiveFlags, countConfirmRun } from '../ui/countConfirmRun.js';

// tasks prune | stuck | fail and contexts prune: retention and recovery. The destructive ones
// count first, ask (or --yes, or --dry-run), then run in batches that Ctrl-C stops between.

const prune = () => import('../../core/retention/prune.js');
const fail = () => import('../../core/retention/fail.js');
const stuck = () => import('../../core/retention/stuck.js');
const fmt = () => import('../ui/retentionFormat.js');
const sourcesOf = async (db: Database, allSchemas?: boolean) => (await import('../../core/inspect.js')).sourcesFor(db, allSchemas);

/** What the inspection commands already have: opening the database for reading, printing a page. */
export interface InspectTools {
  open(ctx: RunContext, opts?: { allSchemas?: boolean }): Promise<Database>;
  printPage<T extends object>(ctx: RunContext, flags: { format?: string; allSchemas?: boolean }, page: Page<T>, table: (items: T[]) => string[], base: string[]): Promise<void>;
}

const ALL_SCHEMAS = '--all-schemas';

const destructiveOptions = (cmd: Command) =>
  cmd
    .option(ALL_SCHEMAS, 'every schema of a recognised layout, one after the other (counted per schema first)')
    .option('--batch-size <n>', 'rows per batch, each its own short transaction (default 1000)')
    .option('--dry-run', 'count what would change, change nothing')
    .option('-y, --yes', 'do not ask for confirmation');

export function registerRetention(tasks: Command, contexts: Command, tools: InspectTools): void {
  destructiveOptions(
    tasks
      .command('prune')
      .description('delete finished tasks (completed, failed, canceled, rejected) last updated before a cutoff, with their feedback and webhook configs, in batches (destructive: asks first)')
      .requiredOption('--older-than <dur>', 'only tasks last updated longer ago than this (30d, 24h; or an ISO date)')
      .option('--status <status>', 'only these finished statuses, comma-separated (default: all of them)')
      .option('--archive <file>', 'first append each batch (history, artifacts, feedback, webhook config minus secrets) to this JSON Lines file, flushed to disk before the delete commits; .jsonl.gz compresses'),
  )
    .addHelpText('after', examples('bindu-db tasks prune --older-than 90d --dry-run', 'bindu-db tasks prune --older-than 30d --status failed,canceled --archive old-tasks.jsonl.gz --yes', 'bindu-db tasks prune --older-than 90d --all-schemas --dry-run'))
    .action(
      run<DestructiveFlags & { olderThan: string; status?: string; archive?: string; allSchemas?: boolean }>(async (ctx, opts) => {
        const core = await prune();
        core.parseTaskPrune(opts); // bad flags fail before connecting
        const db = await tools.open(ctx, opts);
        const plan = await core.planTaskPrune(await sourcesOf(db, opts.allSchemas), opts);
        const f = await fmt();
        await countConfirmRun(ctx, opts, {
          plan: f.formatTaskPrunePlan(plan, ctx.out.color),
          empty: plan.total.tasks === 0,
          nothing: 'Nothing to prune: no finished task was last updated before the cutoff.',
          action: `delete ${f.describeCounts(plan.total)} from ${db.label}`,
          command: 'bindu-db tasks prune',
          dryRun: () => core.dryRunResult(plan),
          run: ({ onBatch, ...interruption }) => core.pruneTasks(plan, { ...interruption, onBatch: (d, b) => onBatch(`${d.tasks.toLocaleString('en-US')} of ${plural(plan.total.tasks, 'task')}, ${plural(b, 'batch', 'batches')}`) }),
          summary: (r) =>
            `${r.dry_run ? 'Would delete' : 'Deleted'} ${f.describeCounts(r.deleted)} in ${plural(r.batches, 'batch', 'batches')}${r.archive ? `; ${r.dry_run ? 'would archive' : 'archived'} to ${r.archive}` : ''}${r.skipped ? `; ${plural(r.skipped, 'task')} counted but not deleted (held by another session, or changed or deleted since the count; run again later)` : ''}.`,
        });
      }),
    );

  destructiveOptions(
    contexts
      .command('prune')
      .description('delete contexts that hold no task and were last updated before a cutoff, in batches (destructive: asks first)')
      .requiredOption('--older-than <dur>', 'only contexts last updated longer ago than this (30d, 24h; or an ISO date)')
      .option('--empty', 'required: only contexts with no task left (deleting a context would delete its tasks)'),
  )
    .addHelpText('after', examples('bindu-db contexts prune --older-than 90d --empty --dry-run', 'bindu-db tasks prune --older-than 90d --yes && bindu-db contexts prune --older-than 90d --empty --yes'))
    .action(
      run<DestructiveFlags & { olderThan: string; empty?: boolean; allSchemas?: boolean }>(async (ctx, opts) => {
        const core = await prune();
        core.parseContextPrune(opts);
        const db = await tools.open(ctx, opts);
        const plan = await core.planContextPrune(await sourcesOf(db, opts.allSchemas), opts);
        const f = await fmt();
        await countConfirmRun(ctx, opts, {
          plan: f.formatContextPrunePlan(plan, ctx.out.color),
          empty: plan.total === 0,
          nothing: 'Nothing to prune: no context without tasks was last updated before the cutoff.',
          action: `delete ${plural(plan.total, 'empty context')} from ${db.label}`,
          command: 'bindu-db contexts prune',
          dryRun: () => ({ deleted: { contexts: plan.total }, batches: Math.ceil(plan.total / plan.batchSize), dry_run: true, interrupted: false }),
          run: ({ onBatch, ...interruption }) => core.pruneContexts(plan, { ...interruption, onBatch: (d, b) => onBatch(`${d} of ${plan.total} contexts, ${plural(b, 'batch', 'batches')}`) }),
          summary: (r) => `${r.dry_run ? 'Would delete' : 'Deleted'} ${plural(r.deleted.contexts, 'empty context')} in ${plural(r.batches, 'batch', 'batches')}.`,
        });
      }),
    );

  tasks
    .command('stuck')
    .description('live tasks (submitted/pending, working/running, input-required, auth-required) not updated for a while, with how long')
    .requiredOption('--older-than <dur>', 'not updated for at least this long (30m, 2h, 1d)')
    .option('--limit <n>', 'rows per page (default 20)')
    .option('--after <cursor>', 'the page after this cursor (printed at the end of the previous page)')
    .option('--format <format>', 'table (default), json, jsonl or csv')
    .option(ALL_SCHEMAS, 'every schema of a recognised layout at once, newest first across them; each row carries its schema')
    .addHelpText('after', examples('bindu-db tasks stuck --older-than 2h', 'bindu-db tasks stuck --older-than 1d --json | jq -r ".items[].task_id"', 'bindu-db tasks stuck --older-than 2h --all-schemas'))
    .action(
      run<{ olderThan: string; limit?: string; after?: string; format?: string; allSchemas?: boolean }>(async (ctx, opts) => {
        const core = await stuck();
        core.parseStuck(opts);
        (await import('../../core/inspectInput.js')).parseFormat(opts.format, ctx.out.json);
        const page = await core.listStuckTasks(await sourcesOf(await tools.open(ctx, opts), opts.allSchemas), opts);
        const f = await fmt();
        await tools.printPage(ctx, opts, page, (items) => f.formatStuckList(items, ctx.out.color), ['task_id', 'status', 'age_seconds', 'context_id', 'created_at', 'updated_at', 'message_count']);
      }),
    );

  destructiveOptions(
    tasks
      .command('fail')
      .argument('[task_id...]', 'the tasks to mark failed')
      .description('mark live tasks failed as the server does (state, timestamp, an agent message with the reason in the history), named or every stuck one, in batches (destructive: asks first)')
      .option('--stuck <dur>', 'every live task not updated for at least this long (instead of ids)')
      .option('--reason <text>', 'the failure reason, shown as the failure reason by tasks list and tasks show'),
  )
    .addHelpText('after', examples('bindu-db tasks fail --stuck 2h --reason "worker restarted; please resubmit" --dry-run', 'bindu-db tasks fail 3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01 --yes', 'bindu-db tasks fail --stuck 2h --all-schemas --yes'))
    .action(
      run<DestructiveFlags & { stuck?: string; reason?: string; allSchemas?: boolean }, [string[]]>(async (ctx, opts, ids) => {
        const core = await fail();
        const input = { ...opts, ids };
        core.parseFail(input);
        const db = await tools.open(ctx, opts);
        const plan = await core.planFail(await sourcesOf(db, opts.allSchemas), input);
        const f = await fmt();
        await countConfirmRun(ctx, opts, {
          plan: f.formatFailPlan(plan, ctx.out.color),
          empty: plan.total.to_fail === 0,
          nothing: plan.cutoff ? 'Nothing to fail: no live task has gone without an update since the cutoff.' : `Nothing to fail: ${[plan.total.finished ? `${plan.total.finished} already finished` : '', plan.total.not_found ? `${plan.total.not_found} not found` : ''].filter(Boolean).join(', ')}.`,
          action: `mark ${plural(plan.total.to_fail, 'live task')} failed on ${db.label}`,
          command: 'bindu-db tasks fail',
          dryRun: () => core.failDryRun(plan),
          run: ({ onBatch, ...interruption }) => core.failTasks(plan, { ...interruption, onBatch: (d, b) => onBatch(`${d} of ${plan.total.to_fail} tasks, ${plural(b, 'batch', 'batches')}`) }),
          summary: (r) =>
            [
              `${r.dry_run ? 'Would mark' : 'Marked'} ${plural(r.failed, 'task')} failed`,
              r.left_alone ? `${r.left_alone} already finished (left alone)` : '',
              r.locked ? `${r.locked} held by another session (skipped; run again)` : '',
              r.not_found ? `${r.not_found} not found` : '',
            ].filter(Boolean).join('; ') + '.',
        });
      }),
    );
}
