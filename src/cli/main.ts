import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { examples } from './options.js';
import { showActing } from '../lib/controlChars.js';

// Only commander and this file load for `bindu-db --help`: the commands' modules are imported when
// one is named, and each action imports knex, pg or PGlite itself.

type Register = (program: Command) => void;
const commands = () => import('./commands/index.js');

/**
 * The top-level commands, in the order --help lists them: their descriptions (the one place
 * they are written) and the function registering each.
 */
const TOP_LEVEL: Record<string, { description: string; load: () => Promise<Register> }> = {
  migrate: { description: 'apply, revert and inspect schema migrations', load: async () => (await commands()).registerMigrate },
  seed: { description: 'load sample data, or generate synthetic data in bulk', load: async () => (await commands()).registerSeed },
  tasks: { description: 'look into tasks: list, show, export; retention and recovery: prune, stuck, fail', load: async () => (await commands()).registerInspect },
  contexts: { description: 'look into conversation contexts: list, show; prune the empty ones', load: async () => (await commands()).registerInspect },
  feedback: { description: 'look into task feedback', load: async () => (await commands()).registerInspect },
  stats: { description: 'tasks by status, tasks per day (14 days), failure rate, feedback ratings, table sizes', load: async () => (await commands()).registerInspect },
  backup: { description: 'back up the whole database (or the schemas --schema names) with pg_dump, atomically; backup verify proves a file restores', load: async () => (await commands()).registerBackup },
  restore: { description: 'restore a backup into the schemas it holds, in one transaction (destructive: asks first)', load: async () => (await commands()).registerBackup },
  schemas: { description: 'the Postgres schemas holding Bindu tables (one per agent on a Bindu server)', load: async () => (await commands()).registerSchemas },
  studio: { description: 'a read-only web view of what the agents did, on 127.0.0.1 (prints one URL with a token)', load: async () => (await commands()).registerStudio },
};

/** The command a command line names: its first operand, skipping global options and their values. */
export function commandNamed(args: string[], program: Command): string | undefined {
  const takesValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]).filter(Boolean));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === 'help') return args[i + 1]; // `bindu-db help migrate`
    if (!arg.startsWith('-')) return arg;
    if (takesValue.has(arg)) i++;
  }
  return undefined;
}

// Read beside the bundle (dist/cli.cjs → package.json), with no import that --help would pay for.
const version = (JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** commander's errors quote what was typed: its escape sequences are shown, never sent to the terminal. */
const SHOWN_ERRORS = { outputError: (text: string, write: (text: string) => void) => write(showActing(text)) };

/** --schema given again keeps every value: the fleet commands (schemas doctor/repair) take several. */
function collectSchemas(value: string, previous: string | string[] | undefined): string | string[] {
  return previous === undefined ? value : [...[previous].flat(), value];
}

export async function buildProgram(args: string[]): Promise<Command> {
  const program = new Command('bindu-db')
    .description('Administer the PostgreSQL storage of Bindu: migrations, backups, and what the agents did.')
    .version(version, '-V, --version')
    .option('--url <url>', 'PostgreSQL URL (default: $DATABASE_URL; none: the embedded database)')
    .option('--direct-url <url>', 'the direct (unpooled) endpoint, for migrations, backup and restore when --url is a pooler (default: $DIRECT_DATABASE_URL)')
    .option('--env-file <path>', 'read variables from this file (default: ./.env if present)')
    .option('--schema <name>', 'Postgres schema holding the tables, or an agent\'s DID (default: $BINDU_DB_SCHEMA or public); repeatable for the schemas commands', collectSchemas)
    .option('--data-dir <dir>', 'embedded database directory (default: $BINDU_DB_DATA_DIR or ./.bindu/db)')
    .option('--migrations-dir <dir>', "the project's own migrations, run after the package's (default: $BINDU_DB_MIGRATIONS_DIR or ./migrations)")
    .option('--connect-timeout <seconds>', 'give up connecting after this long (default: $PGCONNECT_TIMEOUT or 10)')
    .option('--lock-timeout <seconds>', 'migrations: wait this long for another run to finish (default: $BINDU_DB_LOCK_TIMEOUT or 60)')
    .option('--pg-bin <dir>', 'backup, restore: directory of pg_dump, psql and pg_restore (default: $BINDU_DB_PG_BIN; $PG_DUMP, $PSQL, $PG_RESTORE; else PATH)')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-color', 'no colour (also: NO_COLOR=1)')
    .option('--debug', 'show stack traces')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride()
    .configureOutput(SHOWN_ERRORS)
    .addHelpText(
      'after',
      `${examples('bindu-db migrate up', 'bindu-db seed run', 'bindu-db tasks list --status failed', 'bindu-db migrate history --json')}

Configuration: flag > environment > .env file > default. Exit codes: 0 ok, 1 failed,
2 usage error or refused, 3 a check found something (migrate status --check: pending or edited
migrations; schemas doctor: differences), 130 cancelled (Ctrl-C), 143 terminated (SIGTERM).`,
    );
  const named = commandNamed(args, program);
  if (named !== undefined && Object.hasOwn(TOP_LEVEL, named)) (await TOP_LEVEL[named].load())(program);
  // The others as stubs: their names and descriptions are all --help and suggestions need.
  for (const [name, { description }] of Object.entries(TOP_LEVEL)) {
    (program.commands.find((c) => c.name() === name) ?? program.command(name)).description(description);
  }
  // Subcommands inherit exitOverride and the suggestions only when set on each.
  const configure = (cmd: Command) => {
    cmd.exitOverride().configureOutput(SHOWN_ERRORS).showSuggestionAfterError(true).showHelpAfterError('(run with --help for usage)');
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

async function main(argv: string[]): Promise<void> {
  // `bindu-db … | head`: the reader left; stop quietly, as cat and grep do.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = await buildProgram(argv.slice(2));
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version and a bare `bindu-db` exit 0; help shown because a group was named
      // without its subcommand (`bindu-db migrate`) is a usage error like commander's others.
      process.exitCode = err.exitCode === 0 || argv.length <= 2 ? 0 : 2; // ExitCode.ok, ExitCode.usage (errors.ts stays off the --help path)
      return;
    }
    throw err;
  }
}

// Not a top-level await: the bundle is CommonJS. A rejection ends the process as an uncaught error.
void main(process.argv);
