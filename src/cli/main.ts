import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { packageRoot } from '../lib/packageRoot.js';
import { ExitCode } from '../errors.js';
import { registerBackup } from './commands/backup.js';
import { registerMigrate } from './commands/migrate.js';
import { registerSchemas } from './commands/schemas.js';
import { registerSeed } from './commands/seed.js';
import { registerInspect } from './commands/inspect.js';
import { examples } from './options.js';

// Only commander and small local modules load here: each command imports knex, pg or PGlite
// inside its action, so `bindu-db --help` stays fast.

const version = (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('bindu-db')
    .description('Administer the PostgreSQL storage of Bindu: migrations, backups, and what the agents did.')
    .version(version, '-V, --version')
    .option('--url <url>', 'PostgreSQL URL (default: $DATABASE_URL; none: the embedded database)')
    .option('--env-file <path>', 'read variables from this file (default: ./.env if present)')
    .option('--schema <name>', 'Postgres schema holding the tables (default: $BINDU_DB_SCHEMA or public)')
    .option('--data-dir <dir>', 'embedded database directory (default: $BINDU_DB_DATA_DIR or ./.bindu/db)')
    .addOption(new Option('--migrations-dir <dir>', 'migrations directory (default: $BINDU_DB_MIGRATIONS_DIR or the package\'s)').hideHelp())
    .option('--connect-timeout <seconds>', 'give up connecting after this long (default: $PGCONNECT_TIMEOUT or 10)')
    .option('--json', 'print one JSON document on stdout')
    .option('--no-color', 'no colour (also: NO_COLOR=1)')
    .option('--debug', 'show stack traces')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .exitOverride()
    .addHelpText(
      'after',
      `${examples('bindu-db migrate up', 'bindu-db seed run', 'bindu-db tasks list --status failed', 'bindu-db migrate history --json')}

Configuration: flag > environment > .env file > default. Exit codes: 0 ok, 1 failed,
2 usage error or refused, 3 migrations pending (migrate status --check), 130 cancelled.`,
    );
  registerMigrate(program);
  registerSeed(program);
  registerInspect(program);
  registerBackup(program);
  registerSchemas(program);
  // Subcommands inherit exitOverride and the suggestions only when set on each.
  const configure = (cmd: Command) => {
    cmd.exitOverride().showSuggestionAfterError(true).showHelpAfterError('(run with --help for usage)');
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
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = ['commander.helpDisplayed', 'commander.help', 'commander.version'].includes(err.code);
      process.exitCode = ok ? ExitCode.ok : ExitCode.usage;
      return;
    }
    throw err;
  }
}

await main(process.argv);
