import os from 'node:os';
import path from 'node:path';
import { ConfigError, UsageError, quoted } from './errors.js';
import { schemaName } from './lib/didSchema.js';
import { packageRoot } from './lib/packageRoot.js';
import { type PgConnection, parseDatabaseUrl } from './config/databaseUrl.js';
import { lookUpPasswordFile } from './config/passwordFile.js';

export { type PgConnection, type SslMode, describeConnection, parseDatabaseUrl } from './config/databaseUrl.js';

export type DbTarget =
  | { kind: 'postgres'; connection: PgConnection }
  | { kind: 'embedded'; dataDir: string };

/** The validated, fully defaulted configuration of one run. */
export interface Config {
  readonly target: DbTarget;
  /**
   * `--direct-url` / DIRECT_DATABASE_URL: the unpooled endpoint of the same database, for the
   * commands that need a session (migrations, backup, restore) when DATABASE_URL is a pooler.
   */
  readonly directConnection?: PgConnection;
  /** Postgres schema holding the tables. */
  readonly schema: string;
  /**
   * Every schema named with --schema (repeatable; DIDs mapped to their schema), in order: the
   * fleet commands work on these, or on every schema when there are none. `schema` is the last.
   */
  readonly schemasGiven: readonly string[];
  /** Bring the embedded database's schema up to date when a command opens it. */
  readonly runMigrationsOnStartup: boolean;
  readonly connectTimeoutSeconds: number;
  readonly lockTimeoutSeconds: number;
  /** How long one migration statement may wait for a table lock before it is retried. */
  readonly ddlLockTimeoutSeconds: number;
  /** The project's own migrations (--migrations-dir, BINDU_DB_MIGRATIONS_DIR); unset: ./migrations when it exists. */
  readonly migrationsDir?: string;
  readonly seedsDir: string;
  /** Every secret the run knows about, for scrubbing output. */
  readonly secrets: readonly string[];
  /** The PostgreSQL client tools backup and restore spawn. */
  readonly tools: PgTools;
  /**
   * The environment the client tools run with: ours minus every PG* variable (a stray PGHOST or
   * PGSERVICE in the shell cannot redirect a restore); pgArgs adds the connection's own, its
   * password (from the URL, PGPASSWORD or the password file, resolved here) included, so the
   * tools authenticate exactly as the driver does.
   */
  readonly toolEnv: Readonly<Record<string, string>>;
}

/** Commands (a name looked up on PATH, or a path) for the PostgreSQL client tools. */
export interface PgTools {
  readonly pgDump: string;
  readonly psql: string;
  readonly pgRestore: string;
}

/** Flags that can override the environment. Not trusted: straight from the command line. */
export interface ConfigFlags {
  url?: string;
  directUrl?: string;
  /** Several when --schema was repeated. */
  schema?: string | string[];
  connectTimeout?: string;
  lockTimeout?: string;
  ddlLockTimeout?: string;
  dataDir?: string;
  migrationsDir?: string;
  /** --pg-bin: the directory holding pg_dump, psql and pg_restore. */
  pgBin?: string;
}

export type EnvSource = Readonly<Record<string, string | undefined>>;

export { packageRoot };

const SCHEMA_NAME_HINT = 'a schema name has 1 to 63 bytes and no control characters, and is not a system schema (pg_*, information_schema)';

/**
 * A URL with libpq's rule for its password, for the driver and the tools alike: the URL's own,
 * else PGPASSWORD, else the line for it in the password file (PGPASSFILE, or ~/.pgpass).
 */
function withCredentials(url: string, origin: string, env: { PGPASSWORD?: string; PGPASSFILE?: string; HOME?: string }): PgConnection {
  const parsed = parseDatabaseUrl(url);
  if (parsed.password !== undefined) return { ...parsed, origin };
  if (env.PGPASSWORD) return { ...parsed, password: env.PGPASSWORD, passwordFromEnv: true, origin };
  // libpq's default file when PGPASSFILE is unset; pg_dump and psql read the same one.
  const passfile = env.PGPASSFILE || path.join(env.HOME || os.homedir(), '.pgpass');
  const found = lookUpPasswordFile(passfile, parsed);
  if (!found) return { ...parsed, origin };
  return { ...parsed, passfile, ...('password' in found ? { password: found.password } : { passfileGivesNone: found.none }), origin };
}

/**
 * Resolves the configuration. Precedence: flag > environment > .env file > default.
 * `dotenv` holds the parsed .env file; `env` is normally process.env.
 */
export function loadConfig(flags: ConfigFlags, env: EnvSource, dotenv: EnvSource = {}): Config {
  const get = (name: string): string | undefined => {
    const value = env[name] ?? dotenv[name];
    return value === undefined || value === '' ? undefined : value;
  };

  const storageType = (get('STORAGE_TYPE') ?? '').toLowerCase();
  if (storageType && storageType !== 'postgres' && storageType !== 'memory') {
    throw new ConfigError(`STORAGE_TYPE must be "postgres" or "memory", not ${quoted(storageType)}`);
  }
  const url = flags.url ?? get('DATABASE_URL');
  // Read where DATABASE_URL is: a password beside it in .env serves it as the environment's would.
  const credentials = { PGPASSWORD: get('PGPASSWORD'), PGPASSFILE: get('PGPASSFILE'), HOME: env.HOME };

  let target: DbTarget;
  const secrets: string[] = [];
  if (flags.url !== undefined || storageType === 'postgres' || (storageType === '' && url)) {
    if (!url && flags.url !== undefined) throw new ConfigError('--url is empty', 'pass a PostgreSQL URL, or leave --url out (DATABASE_URL, else the embedded database)');
    if (!url) {
      throw new ConfigError(
        'STORAGE_TYPE is "postgres" but DATABASE_URL is not set',
        'set DATABASE_URL (or pass --url), or unset STORAGE_TYPE to use the embedded database',
      );
    }
    const connection = withCredentials(url, flags.url !== undefined ? '--url' : 'DATABASE_URL', credentials);
    if (connection.password) secrets.push(connection.password);
    target = { kind: 'postgres', connection };
  } else {
    target = { kind: 'embedded', dataDir: path.resolve(flags.dataDir ?? get('BINDU_DB_DATA_DIR') ?? '.bindu/db') };
  }
  const directUrl = target.kind === 'postgres' ? flags.directUrl ?? get('DIRECT_DATABASE_URL') : undefined;
  const directConnection = directUrl === undefined ? undefined : withCredentials(directUrl, flags.directUrl !== undefined ? '--direct-url' : 'DIRECT_DATABASE_URL', credentials);
  if (directConnection?.password) secrets.push(directConnection.password);

  // An agent's DID names the schema Bindu's server keeps its tables in.
  const schemaOf = (given: string) => {
    const name = schemaName(given);
    if (name === undefined) throw new UsageError(`invalid schema name ${quoted(given)}`, SCHEMA_NAME_HINT);
    return name;
  };
  const schemasGiven = [flags.schema ?? []].flat().map(schemaOf);
  const schema = schemasGiven.at(-1) ?? schemaOf(get('BINDU_DB_SCHEMA') ?? 'public');

  return Object.freeze({
    target,
    ...(directConnection ? { directConnection } : {}),
    schema,
    schemasGiven: Object.freeze([...new Set(schemasGiven)]),
    runMigrationsOnStartup: parseBoolean('STORAGE__RUN_MIGRATIONS_ON_STARTUP', get('STORAGE__RUN_MIGRATIONS_ON_STARTUP'), true),
    connectTimeoutSeconds: parseSeconds(['--connect-timeout', flags.connectTimeout], ['PGCONNECT_TIMEOUT', get('PGCONNECT_TIMEOUT')], 10),
    lockTimeoutSeconds: parseSeconds(['--lock-timeout', flags.lockTimeout], ['BINDU_DB_LOCK_TIMEOUT', get('BINDU_DB_LOCK_TIMEOUT')], 60),
    ddlLockTimeoutSeconds: parseSeconds(['--ddl-lock-timeout', flags.ddlLockTimeout], ['BINDU_DB_DDL_LOCK_TIMEOUT', get('BINDU_DB_DDL_LOCK_TIMEOUT')], 5),
    migrationsDir: optionalPath(flags.migrationsDir ?? get('BINDU_DB_MIGRATIONS_DIR')),
    seedsDir: path.resolve(get('BINDU_DB_SEEDS_DIR') ?? path.join(packageRoot, 'seeds')),
    secrets: Object.freeze(secrets),
    tools: resolveTools(flags.pgBin ?? get('BINDU_DB_PG_BIN'), get),
    toolEnv: Object.freeze(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && !/^PG/.test(e[0])))),
  });
}

function optionalPath(value: string | undefined): string | undefined {
  return value === undefined ? undefined : path.resolve(value);
}

/** --pg-bin (or BINDU_DB_PG_BIN) names a directory for all three; else PG_DUMP/PSQL/PG_RESTORE; else PATH. */
function resolveTools(pgBin: string | undefined, get: (name: string) => string | undefined): PgTools {
  const pick = (variable: string, name: string) => (pgBin ? path.join(path.resolve(pgBin), name) : get(variable) ?? name);
  return Object.freeze({ pgDump: pick('PG_DUMP', 'pg_dump'), psql: pick('PSQL', 'psql'), pgRestore: pick('PG_RESTORE', 'pg_restore') });
}

function parseBoolean(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(`${name} must be true or false, not ${quoted(value)}`);
}

/**
 * A number of seconds from the flag, else the variable: a bad value is a usage error naming
 * where it came from (the variable, when it was the variable) and the other way to set it.
 */
function parseSeconds([flag, flagValue]: [string, string | undefined], [variable, envValue]: [string, string | undefined], fallback: number): number {
  const value = flagValue ?? envValue;
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === '') {
    const source = flagValue !== undefined ? flag : `${variable} (or ${flag})`;
    throw new UsageError(`${source} must be a number of seconds, not ${quoted(value)}`);
  }
  return n;
}

/** Colour: NO_COLOR turns it off unless FORCE_COLOR asks for it; otherwise chalk decides. */
export function colorSetting(env: EnvSource): boolean | undefined {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.NO_COLOR) return false;
  return undefined;
}
