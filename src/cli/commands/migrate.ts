import path from 'node:path';
import type { Command } from 'commander';
import { PendingMigrationsError, UsageError } from '../../errors.js';
import type { LockHolder, LockRetry } from '../../core/migrations.js';
import type { RunContext } from '../context.js';
import { run } from '../run.js';
import { examples, positiveInt } from '../options.js';
import { confirmDestructive } from '../ui/prompt.js';
import { formatTable, formatTime, plural } from '../ui/format.js';

interface RunFlags {
  acceptChanged?: string[];
  to?: string;
  step?: number;
  all?: boolean;
  dryRun?: boolean;
}

const core = () => import('../../core/migrations.js');

/** A directory as history shows it: relative when it is under the working directory. */
function shownDir(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? dir : relative;
}

const serverSchemaNote = (schema: string) => `Schema ${schema} holds Bindu server tables: its migrations are Alembic's, not bindu-db's.`;

/** Progress callbacks shared by up and down: notices on stderr, dry-run SQL collected. */
function progress(ctx: RunContext, sql: string[]) {
  return {
    lockTimeoutSeconds: ctx.config.lockTimeoutSeconds,
    ddlLockTimeoutSeconds: ctx.config.ddlLockTimeoutSeconds,
    signal: ctx.signal,
    onStep: (name: string) => ctx.out.notice(`→ ${name}`),
    onWait: (holder: LockHolder | undefined) =>
      ctx.out.notice(`waiting for the migration lock${holder ? ` (held by backend ${holder.pid}, ${holder.application_name})` : ''}, up to ${ctx.config.lockTimeoutSeconds}s`),
    onSql: (statement: string) => sql.push(statement),
    onLockRetry: (r: LockRetry) =>
      ctx.out.notice(`${r.name} waited over ${ctx.config.ddlLockTimeoutSeconds}s for a lock ${r.lock}; rolled back, retry ${r.attempt} of ${r.retries} in ${r.delaySeconds}s`),
  };
}

function printSql(ctx: RunContext, sql: string[]): void {
  ctx.out.print(...sql.map((s) => `${s};`));
  ctx.out.notice('dry run: everything above ran in one transaction that was rolled back; nothing changed');
}

export function registerMigrate(program: Command): void {
  const migrate = program
    .command('migrate')
    .addHelpText('after', examples('bindu-db migrate up', 'bindu-db migrate status --check'));

  migrate
    .command('up')
    .description('apply pending migrations (all by default), each in its own transaction')
    .option('--to <name>', 'apply up to and including this migration')
    .option('--step <n>', 'apply at most n migrations', positiveInt)
    .option('--dry-run', 'run them in one transaction, print the SQL, and roll back')
    .option('--accept-changed <name>', 'an applied migration whose file was edited: record it as it is now and go on (repeatable)', (v: string, list: string[] = []) => [...list, v])
    .option('--ddl-lock-timeout <seconds>', 'how long one statement may wait for a table lock before the migration is rolled back and retried (default: $BINDU_DB_DDL_LOCK_TIMEOUT or 5)')
    .addHelpText('after', examples('bindu-db migrate up', 'bindu-db migrate up --step 1 --dry-run', 'bindu-db migrate up --accept-changed 20261201_0001_add_note', 'DATABASE_URL=postgresql://user:pass@host/db bindu-db migrate up --json'))
    .action(
      run<RunFlags>(async (ctx, opts) => {
        const sql: string[] = [];
        // The migrations are read, and the code that runs them loaded, while the connection is made.
        // Everything asked for: a new embedded directory can start with the package's migrations applied.
        const all = opts.to === undefined && opts.step === undefined && !opts.dryRun;
        const [db, migrations, m] = await Promise.all([ctx.db({ session: 'migrate up', atHead: all, dryRun: opts.dryRun }), ctx.migrations(), core()]);
        const made = db.startedAtHead ? migrations.filter((f) => f.origin === 'package').map((f) => f.name) : [];
        const rest = await m.up(db, migrations, { ...progress(ctx, sql), to: opts.to, step: opts.step, dryRun: opts.dryRun, acceptChanged: opts.acceptChanged, ...(made.length ? { batch: 1 } : {}) });
        const result = made.length ? { ...rest, batch: 1, applied: [...made, ...rest.applied] } : rest;
        if (ctx.out.json) return ctx.out.document(opts.dryRun ? { ...result, dry_run: true, sql } : result);
        if (result.accepted) ctx.out.notice(`recorded the edited ${result.accepted.join(', ')} as applied now`);
        if (result.changed) ctx.out.warn(`changed since applied: ${result.changed.join(', ')} (bindu-db migrate status)`);
        if (opts.dryRun) printSql(ctx, sql);
        if (result.applied.length === 0) ctx.out.print('Nothing to apply: the schema is up to date.');
        else if (opts.dryRun) ctx.out.notice(`would apply ${plural(result.applied.length, 'migration')}: ${result.applied.join(', ')}`);
        else ctx.out.print(`Applied ${plural(result.applied.length, 'migration')} (batch ${result.batch}):`, ...result.applied.map((n) => `  ${n}`));
      }),
    );

  migrate
    .command('down')
    .description('revert the most recent migration (destructive: asks first)')
    .option('--step <n>', 'revert the n most recent migrations', positiveInt)
    .option('--to <name>', 'revert every migration applied after this one (it stays applied)')
    .option('--all', 'revert every applied migration')
    .option('--dry-run', 'run the reverts in one transaction, print the SQL, and roll back')
    .option('--ddl-lock-timeout <seconds>', 'how long one statement may wait for a table lock before the migration is rolled back and retried (default: $BINDU_DB_DDL_LOCK_TIMEOUT or 5)')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', examples('bindu-db migrate down', 'bindu-db migrate down --step 2 --yes', 'bindu-db migrate down --all --dry-run'))
    .action(
      run<RunFlags>(async (ctx, opts) => {
        const given = [opts.step !== undefined, opts.to !== undefined, opts.all === true].filter(Boolean).length;
        if (given > 1) throw new UsageError('use only one of --step, --to and --all');
        const migrations = await core();
        const db = await ctx.db({ session: 'migrate down', dryRun: opts.dryRun });
        const files = await ctx.migrations();
        const range = { step: opts.step, to: opts.to, all: opts.all };
        const plan = await migrations.planDown(db, files, range);
        if (plan.length === 0) {
          if (ctx.out.json) return ctx.out.document({ reverted: [] });
          return ctx.out.print('Nothing to revert: no migration is applied.');
        }
        if (!opts.dryRun) {
          await confirmDestructive({
            action: `revert ${plural(plan.length, 'migration')} (${plan.join(', ')}) on ${db.label}`,
            warning: 'What they created, data included, is dropped.',
            yes: opts.yes === true,
            interactive: ctx.interactive,
            command: 'bindu-db migrate down',
          });
        }
        const sql: string[] = [];
        const result = await migrations.down(db, files, { ...progress(ctx, sql), ...range, dryRun: opts.dryRun });
        if (ctx.out.json) return ctx.out.document(opts.dryRun ? { ...result, dry_run: true, sql } : result);
        if (opts.dryRun) {
          printSql(ctx, sql);
          return ctx.out.notice(`would revert ${plural(result.reverted.length, 'migration')}: ${result.reverted.join(', ')}`);
        }
        ctx.out.print(`Reverted ${plural(result.reverted.length, 'migration')}:`, ...result.reverted.map((n) => `  ${n}`));
      }),
    );

  migrate
    .command('history')
    .description('every migration in order: applied or pending, batch, time; the head marked')
    .addHelpText('after', examples('bindu-db migrate history', 'bindu-db migrate history --json'))
    .action(
      run(async (ctx) => {
        const [db, migrations, m] = await Promise.all([ctx.db(), ctx.migrations(), core()]);
        const { items, head, layout } = await m.history(db, migrations);
        if (ctx.out.json) return ctx.out.document({ items, head, ...(layout ? { layout } : {}) });
        const c = ctx.out.color;
        if (layout) ctx.out.print(c.yellow(serverSchemaNote(ctx.config.schema)));
        const rows = items.map((m) => [
          m.name + (m.name === head ? c.cyan(' (head)') : '') + (m.file_missing ? c.red(' (file missing)') : '') + (m.changed ? c.red(' (changed since applied)') : ''),
          m.state === 'applied' ? c.green('applied') : c.yellow('pending'),
          m.batch === null ? '-' : String(m.batch),
          formatTime(m.applied_at),
          m.dir === null ? '-' : shownDir(m.dir),
        ]);
        ctx.out.print(...formatTable(['MIGRATION', 'STATE', 'BATCH', 'APPLIED AT', 'DIRECTORY'], rows, c.bold));
      }),
    );

  migrate
    .command('status')
    .description('applied and pending counts, pending names, lock state')
    .option('--check', 'exit 3 when any migration is pending, or an applied one was edited (a CI gate)')
    .addHelpText('after', examples('bindu-db migrate status', 'bindu-db migrate status --check || echo "migrations pending"'))
    .action(
      run<{ check?: boolean }>(async (ctx, opts) => {
        const [db, migrations, m] = await Promise.all([ctx.db(), ctx.migrations(), core()]);
        const s = await m.status(db, migrations);
        if (ctx.out.json) ctx.out.document(s);
        else {
          const c = ctx.out.color;
          if (s.layout === 'bindu-server') ctx.out.print(c.yellow(serverSchemaNote(ctx.config.schema)));
          if (s.alembic_version !== undefined) ctx.out.print(`Alembic:  this database is managed by Bindu's server (alembic_version ${s.alembic_version ?? 'empty'})`);
          ctx.out.print(
            `Applied:  ${s.applied}`,
            `Pending:  ${s.pending.length}${s.pending.length ? ` (${s.pending.join(', ')})` : ''}`,
            `Lock:     ${s.lock_holder ? c.yellow(`held by backend ${s.lock_holder.pid} (${s.lock_holder.application_name})`) : 'free'}`,
          );
          if (s.changed.length) ctx.out.print(c.red(`Changed:  ${s.changed.join(', ')} (edited since applied; restore it, or: bindu-db migrate up --accept-changed <name>)`));
        }
        if (opts.check && (s.pending.length > 0 || s.changed.length > 0)) {
          const found = [s.pending.length && `${plural(s.pending.length, 'migration')} pending: ${s.pending.join(', ')}`, s.changed.length && `changed since applied: ${s.changed.join(', ')}`];
          throw new PendingMigrationsError(found.filter(Boolean).join('; '));
        }
      }),
    );

  migrate
    .command('make')
    .argument('<name>', 'what the migration does: lowercase letters, digits and _, at most 60 (e.g. add_task_priority)')
    .description("write a new TypeScript migration revising the current head, in the project's ./migrations (or --migrations-dir)")
    .addHelpText('after', examples('bindu-db migrate make add_task_priority', 'bindu-db migrate make add_owner --migrations-dir db/migrations'))
    .action(
      run<object, [string]>(async (ctx, _opts, name) => {
        const { makeMigrationFile, makeTargetDir } = await import('../../core/migrationFiles.js');
        const dir = makeTargetDir(ctx.config.migrationsDir, process.cwd(), name);
        const head = (await ctx.migrations()).at(-1)?.name ?? null;
        const made = makeMigrationFile(dir, name, head);
        if (ctx.out.json) return ctx.out.document({ path: made.path, name: made.name, revises: head });
        ctx.out.print(made.path);
        ctx.out.notice(`revises ${head ?? 'nothing (first migration)'}; edit up() and down(), then run: bindu-db migrate up`);
      }),
    );

  migrate
    .command('unlock')
    .description('release a migration lock left behind by a process that no longer exists')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', examples('bindu-db migrate unlock --yes'))
    .action(
      run(async (ctx, opts) => {
        const migrations = await core();
        const db = await ctx.db({ session: 'migrate unlock' });
        const holder = (await migrations.status(db, [])).lock_holder;
        if (!holder) {
          if (ctx.out.json) return ctx.out.document({ released: false });
          return ctx.out.print('No migration lock is held.');
        }
        await confirmDestructive({
          action: `release the migration lock held by backend ${holder.pid} (${holder.application_name})`,
          yes: opts.yes === true,
          interactive: ctx.interactive,
          command: 'bindu-db migrate unlock',
        });
        const result = await migrations.unlock(db);
        if (ctx.out.json) return ctx.out.document({ released: result.released });
        ctx.out.print(result.released ? `Released the lock held by backend ${holder.pid}.` : 'The lock was already gone.');
      }),
    );
}
