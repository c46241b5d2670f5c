import type { Command } from 'commander';
import type { Database } from '../../db/connect.js';
import type { Page } from '../../db/types.js';
import type { Skipped } from '../../core/inspect.js';
import type { RunContext } from '../context.js';
import { run } from '../run.js';
import { examples } from '../options.js';
import { plural } from '../ui/format.js';
import { registerRetention } from './prune.js';

// tasks | contexts | feedback x list | show, tasks export, and stats: all read-only.
// Each action maps flags to one core call and hands the result to ui/inspectFormat.

const core = () => import('../../core/inspect.js');
const fmt = () => import('../ui/inspectFormat.js');

interface ListFlags {
  allSchemas?: boolean;
  limit?: string;
  after?: string;
  since?: string;
  until?: string;
  format?: string;
}

/**
 * Opens the database for reading and detects the schema's layout (once; core keeps it for the
 * command). The embedded database is migrated first; a PostgreSQL schema of our layout only
 * gets a warning about pending migrations (a server schema is migrated by the server).
 */
async function openForInspection(ctx: RunContext, opts: { allSchemas?: boolean; dryRun?: boolean } = {}): Promise<Database> {
  const db = await ctx.db({ autoMigrate: true, dryRun: opts.dryRun });
  if (opts.allSchemas) return db; // each schema's layout is detected with the others
  const inspect = await core();
  const source = await inspect.sourceFor(db);
  if (db.kind === 'postgres' && source.layout.name === 'bindu-db') {
    const pending = await inspect.unappliedMigrations(db, await ctx.migrations());
    if (pending.length) ctx.out.warn(`${plural(pending.length, 'migration')} pending (${pending.join(', ')}): run bindu-db migrate up`);
  }
  return db;
}

/** Says once which schemas an answer across schemas left out, and why. */
function noticeSkipped(ctx: RunContext, skipped: readonly Skipped[] | undefined): void {
  if (!skipped?.length) return;
  const reasons = [...new Set(skipped.map((s) => s.reason))];
  ctx.out.notice(`skipped ${plural(skipped.length, 'schema')} (${reasons.join('; ')}): ${skipped.map((s) => s.schema).join(', ')}`);
}

/** Prints a page as a table, one JSON document, JSON Lines or CSV; the next cursor goes to stderr except in JSON. */
async function printPage<T extends object>(ctx: RunContext, flags: ListFlags, page: Page<T> & { skipped?: Skipped[] }, table: (items: T[]) => string[], columnsOfOurs: string[]): Promise<void> {
  const f = await fmt();
  noticeSkipped(ctx, page.skipped);
  // The server layout's own fields (state, owner_did, ...) follow the base columns in CSV; the schema comes first.
  const base = flags.allSchemas ? ['schema', ...columnsOfOurs] : columnsOfOurs;
  const columns = [...base, ...Object.keys(page.items[0] ?? {}).filter((k) => !base.includes(k))];
  const format = (await import('../../core/inspectInput.js')).parseFormat(flags.format, ctx.out.json);
  if (format === 'json') return ctx.out.document({ items: page.items.map(f.plain), next: page.next });
  if (format === 'jsonl') ctx.out.print(...f.toJsonLines(page.items));
  else if (format === 'csv') ctx.out.print(...f.toCsv(page.items, columns));
  else ctx.out.print(...table(page.items));
  if (page.next) ctx.out.notice(`next page: --after ${page.next}`);
}

const listOptions = (cmd: Command, what: string) =>
  cmd
    .option('--since <time>', `only ${what} created at or after this (ISO date, or 30m, 24h, 7d ago)`)
    .option('--until <time>', `only ${what} created before this (ISO date or duration)`)
    .option('--limit <n>', 'rows per page (default 20)')
    .option('--after <cursor>', 'the page after this cursor (printed at the end of the previous page)')
    .option('--format <format>', 'table (default), json, jsonl or csv')
    .option('--all-schemas', ALL_SCHEMAS_HELP);

const ALL_SCHEMAS_HELP = 'every schema of a recognised layout at once, newest first across them; each row carries its schema';

const TASK_COLUMNS = ['task_id', 'context_id', 'status', 'created_at', 'updated_at', 'message_count', 'failure_reason'];
const STATUS_HELP = 'only these statuses, comma-separated: pending, running, completed, failed, input_required; on Bindu server schemas also auth_required, canceled, rejected (the server\'s names submitted, working, input-required, auth-required work too)';
const taskFilterOptions = (cmd: Command) =>
  cmd
    .option('--status <status>', STATUS_HELP)
    .option('--context <context_id>', 'only the tasks of this context')
    .option('--owner <did>', 'only the tasks of this owner DID (Bindu server schemas with owner_did)')
    .option('--payment-status <status>', "only tasks with this x402 payment status, comma-separated, e.g. payment-failed,payment-orphaned (Bindu server schemas: metadata->>'x402.payment.status')");
type TaskFilterFlags = { status?: string; context?: string; owner?: string; paymentStatus?: string };
const CONTEXT_COLUMNS = ['context_id', 'task_count', 'message_count', 'created_at', 'updated_at', 'last_activity_at', 'metadata'];
const FEEDBACK_COLUMNS = ['feedback_id', 'task_id', 'rating', 'feedback', 'metadata', 'created_at'];

export function registerInspect(program: Command): void {
  const tasks = program.command('tasks').addHelpText('after', examples('bindu-db tasks list --status failed', 'bindu-db tasks show <task_id>'));

  listOptions(taskFilterOptions(tasks.command('list').description('tasks, newest first, with status, message count and failure reason')), 'tasks')
    .addHelpText(
      'after',
      examples(
        'bindu-db tasks list --status failed --since 24h',
        'bindu-db tasks list --status failed,input_required --limit 50 --json',
        'bindu-db tasks list --after <cursor>',
        'bindu-db --schema <agent_schema> tasks list --payment-status payment-failed,payment-orphaned --until 5m',
        'bindu-db tasks list --all-schemas --status failed --since 1h',
      ),
    )
    .action(
      run<ListFlags & TaskFilterFlags>(async (ctx, opts) => {
        const inspect = await core();
        inspect.parseTaskList(opts); // bad flags fail before connecting
        inspect.parseFormat(opts.format, ctx.out.json);
        const page = await inspect.listTasks(await openForInspection(ctx, opts), opts);
        const f = await fmt();
        await printPage(ctx, opts, page, (items) => f.formatTaskList(items, ctx.out.color, ctx.out.width), TASK_COLUMNS);
      }),
    );

  tasks
    .command('show')
    .argument('<task_id>', 'the task UUID')
    .description('every field of a task: history as a timeline, artifacts, feedback, webhook config (secrets masked)')
    .addHelpText('after', examples('bindu-db tasks show c0ffee00-0000-4000-8000-000000000003', 'bindu-db tasks show <task_id> --json | jq .history'))
    .action(
      run<object, [string]>(async (ctx, _opts, id) => {
        const inspect = await core();
        inspect.parseUuid(id, 'task id');
        const task = await inspect.showTask(await openForInspection(ctx), id);
        if (ctx.out.json) return ctx.out.document(task);
        ctx.out.print(...(await fmt()).formatTaskDetail(task, ctx.out.color));
      }),
    );

  taskFilterOptions(tasks.command('export').description('every matching task with its full history, streamed as JSON Lines on stdout: one task per line as it is read, any number of rows in constant memory (--json is refused: it means one document)'))
    .option('--since <time>', 'only tasks created at or after this')
    .option('--until <time>', 'only tasks created before this')
    .option('--format <format>', 'jsonl, the only one (the default)')
    .option('--all-schemas', 'every schema of a recognised layout, one after the other; each line carries its schema')
    .addHelpText('after', examples('bindu-db tasks export > tasks.jsonl', 'bindu-db tasks export --status failed --since 7d | jq -r .task_id', 'bindu-db tasks export --all-schemas --status failed | jq -r .schema'))
    .action(
      run<TaskFilterFlags & { since?: string; until?: string; allSchemas?: boolean; format?: string }>(async (ctx, opts) => {
        const inspect = await core();
        inspect.parseExportFormat(opts.format, ctx.out.json);
        inspect.parseTaskExport(opts);
        const db = await openForInspection(ctx, opts);
        // The reader may leave early (`| head`): stop fetching instead of crashing on EPIPE.
        let gone = false;
        const onError = (e: NodeJS.ErrnoException) => {
          if (e.code === 'EPIPE') gone = true;
        };
        process.stdout.on('error', onError);
        const stop = new Error('stdout closed');
        try {
          const count = await (await core()).exportTasks(db, opts, async (lines) => {
            if (gone) throw stop;
            await ctx.out.stream(`${lines.join('\n')}\n`).catch((e: NodeJS.ErrnoException) => {
              if (e.code === 'EPIPE') throw stop;
              throw e;
            });
          }, { onSkipped: (skipped) => noticeSkipped(ctx, skipped), signal: ctx.signal });
          ctx.out.notice(`exported ${plural(count, 'task')}`);
        } catch (err) {
          if (err !== stop) throw err;
        } finally {
          process.stdout.off('error', onError);
        }
      }),
    );

  const contexts = program.command('contexts').addHelpText('after', examples('bindu-db contexts list --since 7d', 'bindu-db contexts show <context_id>'));
  listOptions(contexts.command('list').description('contexts, newest first, with task counts and last activity'), 'contexts')
    .option('--owner <did>', 'only the contexts of this owner DID (Bindu server schemas with owner_did)')
    .addHelpText('after', examples('bindu-db contexts list', 'bindu-db contexts list --since 7d --json', 'bindu-db --schema <agent DID> contexts list --owner did:bindu:acme@example.com:echo_agent:438b4'))
    .action(
      run<ListFlags & { owner?: string }>(async (ctx, opts) => {
        const inspect = await core();
        inspect.parseContextList(opts);
        inspect.parseFormat(opts.format, ctx.out.json);
        const page = await inspect.listContexts(await openForInspection(ctx, opts), opts);
        const f = await fmt();
        await printPage(ctx, opts, page, (items) => f.formatContextList(items, ctx.out.color, ctx.out.width), CONTEXT_COLUMNS);
      }),
    );
  contexts
    .command('show')
    .argument('<context_id>', 'the context UUID')
    .description("one context's messages, metadata and tasks")
    .addHelpText('after', examples('bindu-db contexts show 7a1e4c2b-3f5d-4e8a-9b1c-2d3e4f5a6b01'))
    .action(
      run<object, [string]>(async (ctx, _opts, id) => {
        const inspect = await core();
        inspect.parseUuid(id, 'context id');
        const context = await inspect.showContext(await openForInspection(ctx), id);
        if (ctx.out.json) return ctx.out.document(context);
        ctx.out.print(...(await fmt()).formatContextDetail(context, ctx.out.color, ctx.out.width));
        if (context.tasks_next) ctx.out.notice(`more tasks: bindu-db tasks list --context ${context.context_id} --after ${context.tasks_next}`);
      }),
    );

  const feedback = program.command('feedback').addHelpText('after', examples('bindu-db feedback list --rating 1', 'bindu-db feedback list --task <task_id> --json'));
  listOptions(feedback.command('list').description('feedback rows, newest first: task, rating, text'), 'feedback')
    .option('--task <task_id>', 'only the feedback of this task')
    .option('--rating <n>', 'only this rating (1-5)')
    .option('--min-rating <n>', 'only ratings of at least n')
    .addHelpText('after', examples('bindu-db feedback list --rating 1', 'bindu-db feedback list --task <task_id> --json', 'bindu-db feedback list --all-schemas --rating 1'))
    .action(
      run<ListFlags & { task?: string; rating?: string; minRating?: string }>(async (ctx, opts) => {
        const inspect = await core();
        inspect.parseFeedbackList(opts);
        inspect.parseFormat(opts.format, ctx.out.json);
        const page = await inspect.listFeedback(await openForInspection(ctx, opts), opts);
        const f = await fmt();
        await printPage(ctx, opts, page, (items) => f.formatFeedbackList(items, ctx.out.color, ctx.out.width), FEEDBACK_COLUMNS);
      }),
    );

  registerRetention(tasks, contexts, { open: openForInspection, printPage });

  program
    .command('stats')
    .option('--all-schemas', 'the numbers of every schema of a recognised layout added up')
    .option('--by-schema', 'one row per schema (agent): tasks by status, failure rate, last activity')
    .addHelpText('after', examples('bindu-db stats', 'bindu-db stats --json | jq .failure_rate', 'bindu-db stats --by-schema', 'bindu-db stats --all-schemas --json'))
    .action(
      run<{ allSchemas?: boolean; bySchema?: boolean }>(async (ctx, opts) => {
        const s = await (await core()).stats(await openForInspection(ctx, { allSchemas: opts.allSchemas || opts.bySchema }), opts);
        if (ctx.out.json) return ctx.out.document(s);
        const f = await fmt();
        ctx.out.print(...('items' in s ? f.formatSchemaStats(s.items, ctx.out.color) : f.formatStats(s, ctx.out.color, ctx.out.width)));
      }),
    );
}
