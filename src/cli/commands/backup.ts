import type { Command } from 'commander';
import { Option } from 'commander';
import type { BackupPlan } from '../../core/backup.js';
import type { RestorePlan } from '../../core/restore.js';
import type { RunContext } from '../context.js';
import { shownLibpqEnv } from '../../lib/redact.js';
import { run } from '../run.js';
import { examples } from '../options.js';
import { confirmDestructive } from '../ui/prompt.js';
import { withSpinner } from '../ui/spinner.js';
import { formatBytes, plural, shellLine } from '../ui/format.js';

interface BackupFlags {
  format?: 'plain' | 'custom';
  dryRun?: boolean;
  schemaOnly?: boolean;
  dataOnly?: boolean;
  force?: boolean;
}

interface RestoreFlags {
  clean?: boolean;
  yes?: boolean;
}

const backupCore = () => import('../../core/backup.js');
const restoreCore = () => import('../../core/restore.js');
const pgBinOption = () => new Option('--pg-bin <dir>', 'directory of pg_dump, psql and pg_restore (default: $PG_DUMP, $PSQL, $PG_RESTORE, else PATH)');

const schemaNote = (ctx: RunContext) => (ctx.config.schema === 'public' ? '' : ` (schema ${ctx.config.schema})`);

/** --dry-run: what would run, with the libpq variables it would get (the password hidden). */
function printPlan(ctx: RunContext, plan: BackupPlan): void {
  const { dump } = plan;
  const spawned = dump.kind === 'pg_dump';
  const command = spawned ? [dump.tool.command, ...dump.tool.args] : ['pg_dump', ...dump.args];
  const env = spawned ? shownLibpqEnv(dump.tool.env) : {};
  if (ctx.out.json) return ctx.out.document({ dry_run: true, file: plan.file, format: plan.format, in_process: !spawned, command, env });
  const source = spawned ? ctx.targetLabel : `the embedded database at ${ctx.targetLabel}`;
  // The mask stays unquoted: it is a placeholder to replace, not a value to paste.
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${k === 'PGPASSWORD' ? v : shellLine([v])}`);
  ctx.out.print(
    `Dry run: would back up ${source}${schemaNote(ctx)} to ${plan.file} (${plan.format}), through a temporary file beside it.`,
    spawned ? `  ${[...assignments, shellLine(command)].join(' ')}` : `  in process: ${shellLine(command)}`,
    'Nothing was run or written.',
  );
}

/** What --clean is about to do to the target, or nothing when it finds nothing to replace. */
function cleanWarning(plan: RestorePlan): string | undefined {
  if (plan.dataOnly) {
    const filled = plan.dataOnly.tables.filter((t) => t.filled).map((t) => `${t.schema}.${t.name}`);
    return filled.length ? `The rows of ${filled.join(', ')} (and of tables referencing them) are deleted and replaced by the backup's; no table is dropped.` : undefined;
  }
  const occupied = plan.occupied;
  return occupied.length ? `The Bindu tables in schema${occupied.length > 1 ? 's' : ''} ${occupied.map((h) => h.schema).join(', ')} are dropped and replaced; other schemas are not touched.` : undefined;
}

export function registerBackup(program: Command): void {
  program
    .command('backup')
    .argument('<file>', 'where to write: .sql (plain), .sql.gz (plain, gzip), .dump (custom)')
    .addOption(new Option('--format <format>', 'plain or custom (default: from the extension)').choices(['plain', 'custom']))
    .addOption(new Option('--schema-only', 'tables and functions, no rows').conflicts('dataOnly'))
    .option('--data-only', 'rows only, no schema: restores into existing tables (e.g. after bindu-db migrate up)')
    .option('--force', 'replace the file if it exists')
    .addOption(pgBinOption())
    .addHelpText('after', examples('bindu-db backup ./backup.sql', 'bindu-db backup ./nightly.sql.gz --json', 'bindu-db backup ./echo-agent.dump --schema did:bindu:acme@example.com:echo_agent:438b4', 'bindu-db backup ./bindu.dump --pg-bin /usr/lib/postgresql/16/bin', 'bindu-db backup ./backup.sql --dry-run'))
    .option('--dry-run', 'print the pg_dump command it would run (password hidden), and run nothing')
    .action(
      run<BackupFlags, [string]>(async (ctx, opts, file) => {
        const { backup, planBackup } = await backupCore();
        const plan = planBackup(ctx.sessionConfig, { file, format: opts.format, schemaOnly: opts.schemaOnly, dataOnly: opts.dataOnly, force: opts.force });
        if (opts.dryRun) return printPlan(ctx, plan);
        // PostgreSQL is dumped without opening knex: pg_dump connects itself (see core/backup.ts).
        const db = ctx.config.target.kind === 'embedded' ? await ctx.db() : (await ctx.checkSession('backup'), undefined);
        const result = await withSpinner(`backing up to ${file}`, !ctx.out.json, (update) => backup(ctx.sessionConfig, plan, db, (n) => update(formatBytes(n))));
        const doc = { file: result.file, format: result.format, bytes: result.bytes, sha256: result.sha256, seconds: Number(result.seconds.toFixed(3)) };
        if (ctx.out.json) return ctx.out.document(doc);
        ctx.out.print(`Backed up ${ctx.targetLabel}${schemaNote(ctx)} to ${result.file}`, `  format  ${result.format}`, `  size    ${formatBytes(result.bytes)} (${result.bytes} bytes)`, `  time    ${result.seconds.toFixed(2)} s`, `  sha256  ${result.sha256}`);
      }),
    );

  program
    .command('restore')
    .argument('<file>', 'a backup: plain .sql, .sql.gz or a custom .dump (told apart by content)')
    .option('--clean', 'replace the Bindu tables in the schemas the backup holds, in the same transaction (other schemas are left alone); for a --data-only backup, empty the tables it has rows for instead')
    .option('-y, --yes', 'do not ask for confirmation')
    .addOption(pgBinOption())
    .addHelpText('after', examples('bindu-db restore ./backup.sql --yes', 'bindu-db restore ./nightly.sql.gz --clean', 'DATABASE_URL=postgresql://user:pass@host/db bindu-db restore ./bindu.dump --clean --yes'))
    .action(
      run<RestoreFlags, [string]>(async (ctx, opts, file) => {
        const { inspectBackup, planRestore, restore, withRestoreTarget } = await restoreCore();
        const config = ctx.sessionConfig; // DIRECT_DATABASE_URL when set: a restore needs a session
        // Reading the file and checking the tools overlaps with connecting.
        const inspected = inspectBackup(config, file);
        inspected.catch(() => undefined); // awaited below; a failed connection must not leave it unhandled
        await ctx.checkSession('restore');
        await withRestoreTarget(config, () => ctx.db(), async (db) => {
          const plan = await planRestore(db, config, await inspected, { clean: opts.clean });
          if (opts.schema !== undefined && !plan.schemas.includes(ctx.config.schema)) {
            ctx.out.warn(`${file} holds schema ${plan.schemas.join(', ')}; it is restored there, not into ${ctx.config.schema} (--schema does not rename)`);
          }
          const holding = plan.tasks === null ? 'no Bindu tables' : plural(plan.tasks, 'task');
          await confirmDestructive({
            action: `restore ${file} into ${plan.target} (database ${plan.database}, schema${plan.schemas.length > 1 ? 's' : ''} ${plan.schemas.join(', ')}, now holding ${holding})`,
            warning: opts.clean ? cleanWarning(plan) : undefined,
            yes: opts.yes === true,
            interactive: ctx.interactive,
            command: `bindu-db restore ${file}${opts.clean ? ' --clean' : ''}`,
          });
          const result = await withSpinner(`restoring ${file}`, !ctx.out.json, (update) => restore(db, config, plan, { clean: opts.clean, onProgress: (n) => update(formatBytes(n)) }));
          const doc = { file: result.file, format: result.format, seconds: Number(result.seconds.toFixed(3)), tasks: result.tasks ?? 0 };
          if (ctx.out.json) return ctx.out.document(doc);
          ctx.out.print(`Restored ${result.file} (${result.format}) into ${plan.target} in ${result.seconds.toFixed(2)} s: ${plural(result.tasks ?? 0, 'task')}.`);
        });
      }),
    );
}
