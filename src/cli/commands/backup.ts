import type { Command } from 'commander';
import { Option } from 'commander';
import type { BackupPlan } from '../../core/backup/plan.js';
import type { RestorePlan } from '../../core/restore/plan.js';
import { describeConnection } from '../../config.js';
import type { RunContext } from '../context.js';
import { shownLibpqEnv } from '../../lib/redact.js';
import { run } from '../run.js';
import { examples } from '../options.js';
import { confirmDestructive } from '../ui/prompt.js';
import { withSpinner } from '../ui/spinner.js';
import { shellLine } from '../../lib/words.js';
import { formatBytes, plural, visibleLine } from '../ui/format.js';

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

const backupPlan = () => import('../../core/backup/plan.js');
const backupRun = () => import('../../core/backup/run.js');
const restoreRun = () => import('../../core/restore/run.js');

// Schema names come from the database or from the backup file (untrusted): shown with their controls visible.
const schemaNames = (schemas: readonly string[]) => schemas.map(visibleLine).join(', ');
const schemaList = (schemas: string[]) => (schemas.length ? schemaNames(schemas) : 'every schema');

/** --dry-run: what would run, with the libpq variables it would get (the password hidden). */
function printPlan(ctx: RunContext, plan: BackupPlan): void {
  const { dump } = plan;
  const spawned = dump.kind === 'pg_dump';
  const command = spawned ? [dump.tool.command, ...dump.tool.args] : ['pg_dump', ...dump.args];
  const env = spawned ? shownLibpqEnv(dump.tool.env) : {};
  if (ctx.out.json) return ctx.out.document({ dry_run: true, file: plan.file, format: plan.format, schemas: plan.schemas, in_process: !spawned, command, env });
  const source = spawned ? ctx.targetLabel : `the embedded database at ${ctx.targetLabel}`;
  // The mask stays unquoted: it is a placeholder to replace, not a value to paste.
  const assignments = Object.entries(env).map(([k, v]) => `${k}=${k === 'PGPASSWORD' ? v : shellLine([v])}`);
  ctx.out.print(
    `Dry run: would back up ${source} (${plan.schemas.length ? `schema${plan.schemas.length > 1 ? 's' : ''} ${plan.schemas.join(', ')}` : 'the whole database: every schema'}) to ${plan.file} (${plan.format}), through a temporary file beside it.`,
    spawned ? `  ${[...assignments, shellLine(command)].join(' ')}` : `  in process: ${shellLine(command)}`,
    'Nothing was run or written.',
  );
}

/** What --clean is about to do to the target, or nothing when it finds nothing to replace. */
function cleanWarning(plan: RestorePlan): string | undefined {
  if (plan.dataOnly) {
    const filled = plan.dataOnly.tables.filter((t) => t.filled).map((t) => visibleLine(`${t.schema}.${t.name}`));
    return filled.length ? `The rows of ${filled.join(', ')} are deleted and replaced by the backup's; no table is dropped.` : undefined;
  }
  const occupied = plan.occupied;
  return occupied.length
    ? `Replaced: the Bindu tables (and everything the backup recreates) in schema${occupied.length > 1 ? 's' : ''} ${occupied.map((h) => `${visibleLine(h.schema)} (${h.tables.join(', ')})`).join(', ')}; other schemas are not touched.`
    : undefined;
}

export function registerBackup(program: Command): void {
  const backup = program
    .command('backup')
    .argument('<file>', 'where to write: .sql (plain), .sql.gz (plain, gzip), .dump (custom)')
    .description('back up the whole database (every schema), or the schemas --schema names, atomically')
    .addOption(new Option('--format <format>', 'plain or custom (default: from the extension)').choices(['plain', 'custom']))
    .addOption(new Option('--schema-only', 'tables and functions, no rows').conflicts('dataOnly'))
    .option('--data-only', 'rows only, no schema: restores into existing tables (e.g. after bindu-db migrate up)')
    .option('--force', 'replace the file if it exists')
    .addHelpText(
      'after',
      `
Without --schema the backup holds every schema that is not a system schema (all agents' schemas,
public, alembic_version, functions, triggers, sequences). --schema narrows it; repeat it for
several; it takes a name (case kept exactly) or an agent's DID. BINDU_DB_SCHEMA does not narrow it.
${examples('bindu-db backup ./backup.sql', 'bindu-db backup ./nightly.sql.gz --json', 'bindu-db backup ./echo-agent.dump --schema did:bindu:acme@example.com:echo_agent:438b4', 'bindu-db backup ./two.sql --schema public --schema AgentX', 'bindu-db backup verify ./nightly.sql.gz', 'bindu-db backup ./backup.sql --dry-run')}`,
    )
    .option('--dry-run', 'print the pg_dump command it would run (password hidden), and run nothing')
    .action(
      run<BackupFlags, [string]>(async (ctx, opts, file) => {
        const { planBackup } = await backupPlan();
        const plan = planBackup(ctx.sessionConfig, { file, format: opts.format, schemas: [...ctx.config.schemasGiven], schemaOnly: opts.schemaOnly, dataOnly: opts.dataOnly, force: opts.force });
        if (opts.dryRun) return printPlan(ctx, plan);
        const { backup } = await backupRun();
        // PostgreSQL is dumped without opening knex: pg_dump connects itself (DIRECT_DATABASE_URL behind a pooler).
        const db = ctx.config.target.kind === 'embedded' ? await ctx.db() : (await ctx.checkSession('backup'), undefined);
        const result = await withSpinner(`backing up to ${file}`, !ctx.out.json, (update) => backup(ctx.sessionConfig, plan, ctx.signal, db, (n) => update(formatBytes(n))));
        const doc = { file: result.file, format: result.format, schemas: result.schemas, bytes: result.bytes, sha256: result.sha256, seconds: Number(result.seconds.toFixed(3)) };
        if (ctx.out.json) return ctx.out.document(doc);
        // DIRECT_DATABASE_URL when set: what pg_dump read, not the pooler.
        const t = ctx.sessionConfig.target;
        const dumpedFrom = t.kind === 'postgres' ? describeConnection(t.connection) : ctx.targetLabel;
        ctx.out.print(
          `Backed up ${dumpedFrom} to ${result.file}`,
          `  schemas ${schemaNames(result.schemas) || '(none)'}`,
          `  format  ${result.format}`,
          `  size    ${formatBytes(result.bytes)} (${result.bytes} bytes)`,
          `  time    ${result.seconds.toFixed(2)} s`,
          `  sha256  ${result.sha256}`,
        );
      }),
    );

  backup
    .command('verify')
    .argument('<file>', 'a backup made by bindu-db backup')
    .description('prove a backup restores: load it into a scratch database and compare each table\'s rows with the counts recorded at backup time')
    .addHelpText('after', `
The scratch database is a throwaway database on the same server when the role may create one,
else the embedded database in a temporary directory; it is dropped afterwards. Exit 0 when every
count matches, 1 naming what differs (a truncated or edited file).
${examples('bindu-db backup verify ./nightly.sql.gz', 'bindu-db backup verify ./bindu.dump --json')}`)
    .action(
      run<object, [string]>(async (ctx, _opts, file) => {
        const { verifyBackup } = await import('../../core/backup/verify.js');
        if (ctx.config.target.kind === 'postgres') await ctx.checkSession('backup verify');
        const result = await withSpinner(`verifying ${file}`, !ctx.out.json, () => verifyBackup(ctx.sessionConfig, file, ctx.signal));
        if (!result.ok) process.exitCode = 1;
        if (ctx.out.json) return ctx.out.document({ file: result.file, ok: result.ok, scratch: result.scratch, tables: result.tables, seconds: Number(result.seconds.toFixed(3)) });
        const differing = Object.entries(result.tables).filter(([, t]) => t.expected !== t.restored);
        const where = result.scratch === 'server' ? 'a scratch database on the server' : 'a scratch embedded database';
        if (result.ok) return ctx.out.print(`Verified ${result.file}: restored into ${where}; all ${plural(Object.keys(result.tables).length, 'table')} hold the rows recorded at backup time (${result.seconds.toFixed(2)} s).`);
        ctx.out.error(
          `${result.file} does not restore what it recorded: ${differing.map(([t, c]) => `${t} ${c.restored === null ? 'missing' : `${c.restored} rows`}, expected ${c.expected}`).join('; ')}`,
          'the file was changed or damaged after it was made: make a new backup',
        );
      }),
    );

  program
    .command('restore')
    .argument('<file>', 'a backup: plain .sql, .sql.gz or a custom .dump (told apart by content)')
    .option('--clean', 'replace what the backup recreates in the schemas it holds, in the same transaction (other schemas are left alone; refused if anything outside the backup depends on it); for a --data-only backup, empty the tables it has rows for instead')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', `
The file is checked before anything runs: psql meta-commands, transaction control, role and
database statements, ALTER SYSTEM, COPY … PROGRAM and objects outside the schemas the file
declares are refused (exit 2, naming the line); psql runs restricted too.
${examples('bindu-db restore ./backup.sql --yes', 'bindu-db restore ./nightly.sql.gz --clean', 'DATABASE_URL=postgresql://user:pass@host/db bindu-db restore ./bindu.dump --clean --yes')}`)
    .action(
      run<RestoreFlags, [string]>(async (ctx, opts, file) => {
        const { inspectBackup, prepareRestore, restore, restoreWork, withRestoreTarget } = await restoreRun();
        const config = ctx.sessionConfig; // DIRECT_DATABASE_URL when set: a restore needs a session
        // Reading and checking the file overlaps with connecting.
        const inspected = inspectBackup(config, file);
        inspected.catch(() => undefined); // awaited below; a failed connection must not leave it unhandled
        await ctx.checkSession('restore');
        await withRestoreTarget(config, () => ctx.db({ work: restoreWork(file) }), async (db) => {
          const plan = await prepareRestore(db, config, await inspected, opts.clean === true);
          const holding = plan.tasks === null ? 'no Bindu tables' : plural(plan.tasks, 'task');
          await confirmDestructive({
            action: `restore ${file} into ${plan.target} (database ${plan.database}, schema${plan.schemas.length > 1 ? 's' : ''} ${schemaList(plan.schemas)}, now holding ${holding})`,
            warning: opts.clean ? cleanWarning(plan) : undefined,
            yes: opts.yes === true,
            interactive: ctx.interactive,
            command: `bindu-db restore ${file}${opts.clean ? ' --clean' : ''}`,
          });
          const result = await withSpinner(`restoring ${file}`, !ctx.out.json, (update) => restore(db, config, plan, ctx.signal, (n) => update(formatBytes(n))));
          const doc = { file: result.file, format: result.format, schemas: result.schemas, tasks: result.tasks ?? 0, seconds: Number(result.seconds.toFixed(3)) };
          if (ctx.out.json) return ctx.out.document(doc);
          ctx.out.print(`Restored ${result.file} (${result.format}; ${schemaList(result.schemas)}) into ${plan.target} in ${result.seconds.toFixed(2)} s: ${plural(result.tasks ?? 0, 'task')}.`);
        });
      }),
    );
}
