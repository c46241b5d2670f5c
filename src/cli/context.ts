import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { type Config, type EnvSource, type PgConnection, colorSetting, describeConnection, loadConfig } from '../config.js';
import { sessionConfig } from '../db/pooler.js';
import { BinduError, ConfigError, ExitCode, describePgError, isPgError, tooDeepError } from '../errors.js';
import { createRedactor } from '../lib/redact.js';
import type { Database } from '../db/connect.js';
import type { Migration } from '../core/migrationFiles.js';
import { type Output, createOutput } from './ui/output.js';
import { plural, visibleLine } from './ui/format.js';

/** Options every command accepts (declared on the program in main.ts). */
export interface GlobalOptions {
  url?: string;
  directUrl?: string;
  envFile?: string;
  schema?: string | string[];
  dataDir?: string;
  migrationsDir?: string;
  connectTimeout?: string;
  lockTimeout?: string;
  ddlLockTimeout?: string;
  json?: boolean;
  debug?: boolean;
  color?: boolean;
  yes?: boolean;
  /** backup/restore: directory of pg_dump, psql and pg_restore. */
  pgBin?: string;
}

/** What an action gets: configuration, output, and the database opened on first use. */
export interface RunContext {
  readonly config: Config;
  readonly out: Output;
  /** A person can answer prompts. */
  readonly interactive: boolean;
  readonly opts: GlobalOptions;
  /** Aborted on Ctrl-C or SIGTERM; long operations stop, clean up and throw CancelledError. */
  readonly signal: AbortSignal;
  /** Runs work that must end whole once begun: an interrupt waits for it (see run.ts). */
  whole<T>(work: () => Promise<T>): Promise<T>;
  /** Says once, on stderr, which database this run uses (db() and sessionConfig() do it too). */
  announce(label?: string): void;
  /** The database as people read it: the masked URL, or the embedded data directory. */
  readonly targetLabel: string;
  /**
   * Opens the database once. `autoMigrate`: bring the embedded database up to date first.
   * `atHead`: an embedded data directory made now may start with the package's migrations applied
   * (migrate up, when it would apply them all).
   * `session`: the command (e.g. "migrate up") needs a session: DIRECT_DATABASE_URL when set,
   * never a pooler (exit 2 naming the variable). `work`: about how many bytes of data the
   * command brings into the embedded database (a restore's file, generated rows). `dryRun`: an
   * embedded data directory not made yet is not made: the command runs on a scratch one.
   */
  db(options?: { autoMigrate?: boolean; atHead?: boolean; session?: string; work?: number; dryRun?: boolean }): Promise<Database>;
  /**
   * The configuration a session command that connects by itself (backup, restore) runs with:
   * its target is DIRECT_DATABASE_URL when that is set, else the same as `config`.
   */
  readonly sessionConfig: Config;
  /** Refuses (exit 2, naming DIRECT_DATABASE_URL) when sessionConfig's target is a pooler; announces it. */
  checkSession(command: string): Promise<void>;
  migrations(): Promise<Migration[]>;
  close(): Promise<void>;
}

function readEnvFile(file: string | undefined, cwd: string): EnvSource {
  const target = path.resolve(cwd, file ?? '.env');
  let text: string;
  try {
    text = fs.readFileSync(target, 'utf8');
  } catch (err) {
    if (file === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read env file ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseEnv(text) as EnvSource;
}

/** The commands whose SQL work grows with the data: on the embedded database, much data gets PGlite optimised (db/connect.ts optimisedCompile). */
const BULK_COMMANDS = new Set(['seed generate', 'backup', 'backup verify', 'restore', 'tasks export', 'tasks prune', 'contexts prune', 'tasks fail', 'stats', 'schemas backfill-owner', 'studio']);
/** Embedded: these wait (--lock-timeout) for another process to let go of the data directory, as their migration lock waits on PostgreSQL. */
const WAITING_COMMANDS = new Set(['migrate up', 'migrate down']);

/** `command`: the command's names (`tasks list`), which decide how the embedded database is opened. */
export function createContext(opts: GlobalOptions, interrupt: Pick<RunContext, 'signal' | 'whole'>, command: string, env: EnvSource = process.env): RunContext {
  const config = loadConfig(opts, env, readEnvFile(opts.envFile, process.cwd()));
  const out = createOutput({
    json: opts.json === true,
    color: opts.color === false ? false : colorSetting(env),
    redact: createRedactor(config.secrets),
  });
  let opened: Promise<Database> | undefined;
  let dryRunDir: { dir: string; remove: () => void } | undefined;
  let migrations: Promise<Migration[]> | undefined;
  let announced = false;
  const target = config.target;
  const ctx: RunContext = {
    targetLabel: target.kind === 'embedded' ? target.dataDir : describeConnection(target.connection),
    config,
    out,
    opts,
    signal: interrupt.signal,
    whole: interrupt.whole,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    announce: (label = ctx.targetLabel) => {
      if (announced) return;
      announced = true;
      out.notice(target.kind === 'embedded' ? `using the embedded database at ${visibleLine(shownPath(target.dataDir))} (set DATABASE_URL to use PostgreSQL)` : `using ${label}`);
    },
    sessionConfig: sessionConfig(config),
    checkSession: async (command) => {
      if (target.kind !== 'postgres') return;
      const { checkSession } = await import('../db/connect.js');
      await checkSession(config, command);
      ctx.announce(describeConnection((ctx.sessionConfig.target as { connection: PgConnection }).connection));
    },
    migrations: () => (migrations ??= import('../core/migrationFiles.js').then((m) => m.readMigrations(m.projectMigrationsDir(config.migrationsDir, process.cwd())))),
    db: (options = {}) =>
      (opened ??= (async () => {
        const [{ openDatabase }, { pooledNote }] = await Promise.all([import('../db/connect.js'), import('../db/pooler.js')]);
        if (target.kind === 'embedded') ctx.announce();
        const migrate = target.kind === 'embedded' && options.autoMigrate === true && config.runMigrationsOnStartup;
        const atHead = migrate || (target.kind === 'embedded' && options.atHead === true);
        const migrations = atHead ? await ctx.migrations() : [];
        const ours = migrations.filter((m) => m.origin === 'package');
        const scratch = target.kind === 'embedded' && options.dryRun === true && !fs.existsSync(path.join(target.dataDir, 'PG_VERSION'));
        if (scratch) {
          dryRunDir = (await import('../lib/leftovers.js')).scratchDir('bindu-dry-run-');
          out.notice(`${visibleLine(shownPath(target.dataDir))} does not exist yet: the dry run uses a scratch copy, removed after, and creates nothing there`);
        }
        const made = await openDatabase(dryRunDir ? { ...config, target: { kind: 'embedded', dataDir: path.join(dryRunDir.dir, 'db') } } : config, { session: options.session, bulk: BULK_COMMANDS.has(command), work: options.work, ...(WAITING_COMMANDS.has(command) ? { waitSeconds: config.lockTimeoutSeconds } : {}), ...(atHead ? { atHead: ours.map(({ name, checksum }) => ({ name, checksum })) } : {}) });
        // The scratch copy is named as the directory it stands for.
        const db: Database = dryRunDir && target.kind === 'embedded' ? Object.assign(Object.create(made) as Database, { label: target.dataDir }) : made;
        // PostgreSQL: said once connected, so the line can say whether a pooler answered.
        ctx.announce(db.label + pooledNote(db.pooler));
        if (db.startedAtHead && !dryRunDir) out.notice(`created the embedded database, migrated up to ${ours.at(-1)?.name} (${plural(ours.length, 'migration')} applied)`);
        try {
          // Interrupted while the directory was being made (no statement to stop): it is whole, and nothing else starts.
          if (db.startedAtHead) await (await import('../lib/process.js')).checkpoint(interrupt.signal, `the embedded database was made at ${ours.at(-1)?.name} (${plural(ours.length, 'migration')} applied); nothing else was applied`);
          // Made at the package's head: only the project's own migrations can be pending.
          // A schema of the server's (a restored server database) is read as it is, never migrated.
          // The usual case, everything applied, is read in two queries: the rest is for when there is work.
          const core = migrate && !(db.startedAtHead && ours.length === migrations.length) ? await import('../core/migrations.js') : undefined;
          if (core && !(await core.upToDate(db, migrations)) && (await core.migratable(db))) {
            const result = await core.up(db, migrations, { lockTimeoutSeconds: config.lockTimeoutSeconds, ddlLockTimeoutSeconds: config.ddlLockTimeoutSeconds, ...(db.startedAtHead ? { batch: 1 } : {}) });
            if (result.applied.length) out.notice(`applied ${result.applied.length} migration(s) to the embedded database`);
          }
        } catch (err) {
          // Never handed to ctx.close(): closed here, or its instance would keep the process alive.
          await db.close().catch(() => undefined);
          throw err;
        }
        return db;
      })()),
    close: async () => {
      try {
        if (opened) await (await opened.catch(() => undefined))?.close();
      } finally {
        dryRunDir?.remove();
      }
    },
  };
  return ctx;
}

/** Prints an error once, as one line plus a hint, and returns its exit code. */
export function reportError(thrown: unknown, out: Output, debug: boolean): number {
  const err = tooDeepError(thrown) ?? thrown;
  if (err instanceof BinduError) {
    out.error(err.message, err.hint);
    if (debug && err.cause instanceof Error && err.cause.stack) out.notice(err.cause.stack);
    return err.exitCode;
  }
  if (isPgError(err)) {
    const { message, hint } = describePgError(err);
    out.error(message, hint);
    return ExitCode.failed;
  }
  const message = err instanceof Error ? err.message : String(err);
  out.error(message, debug ? undefined : 'unexpected error: re-run with --debug for details, and please report it');
  if (debug && err instanceof Error && err.stack) out.notice(err.stack);
  return ExitCode.failed;
}

/** A path as short as it reads: relative under the working directory, absolute elsewhere (never ../../..). */
function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative === '' ? '.' : relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}
