import path from 'node:path';
import { ConfigError, UsageError } from './errors.js';
import { schemaNameForDid } from './lib/didSchema.js';
import { packageRoot } from './lib/packageRoot.js';
import { maskUrl } from './lib/redact.js';

/** libpq's sslmode values; asyncpg's `ssl=` spellings map onto them. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** A parsed PostgreSQL connection. `password` never leaves the process except in a child's env. */
export interface PgConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  sslMode: SslMode;
  /** libpq's sslrootcert/sslcert/sslkey file paths, when the URL names them. */
  sslRootCert?: string;
  sslCert?: string;
  sslKey?: string;
  applicationName?: string;
  /** `?pgbouncer=true` (Prisma's spelling): the URL says it is a PgBouncer endpoint. */
  pgbouncer?: true;
}

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
  readonly migrationsDir: string;
  readonly seedsDir: string;
  /** Every secret the run knows about, for scrubbing output. */
  readonly secrets: readonly string[];
  /** The PostgreSQL client tools backup and restore spawn. */
  readonly tools: PgTools;
  /**
   * The environment the client tools run with: ours minus the PG* variables that could point
   * them elsewhere (a stray PGHOST or PGSERVICE in the shell cannot redirect a restore); pgArgs
   * adds the connection's own. PGPASSWORD and PGPASSFILE stay: they are where the driver finds a
   * password the URL leaves out, so the tools authenticate exactly as the driver does.
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

const SSL_SPELLINGS: Record<string, SslMode> = {
  disable: 'disable',
  false: 'disable',
  allow: 'allow',
  prefer: 'prefer',
  require: 'require',
  true: 'require',
  'verify-ca': 'verify-ca',
  'verify-full': 'verify-full',
};

/** Where libpq and node-pg look for a password the URL does not carry. */
const PASSWORD_VARIABLES = ['PGPASSWORD', 'PGPASSFILE'];

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

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
    throw new ConfigError(`STORAGE_TYPE must be "postgres" or "memory", not "${storageType}"`);
  }
  const url = flags.url ?? get('DATABASE_URL');

  let target: DbTarget;
  const secrets: string[] = [];
  if (flags.url !== undefined || storageType === 'postgres' || (storageType === '' && url)) {
    if (!url) {
      throw new ConfigError(
        'STORAGE_TYPE is "postgres" but DATABASE_URL is not set',
        'set DATABASE_URL (or pass --url), or unset STORAGE_TYPE to use the embedded database',
      );
    }
    const connection = parseDatabaseUrl(url);
    if (connection.password) secrets.push(connection.password);
    if (env.PGPASSWORD) secrets.push(env.PGPASSWORD);
    target = { kind: 'postgres', connection };
  } else {
    target = { kind: 'embedded', dataDir: path.resolve(flags.dataDir ?? get('BINDU_DB_DATA_DIR') ?? '.bindu/db') };
  }
  const directUrl = target.kind === 'postgres' ? flags.directUrl ?? get('DIRECT_DATABASE_URL') : undefined;
  const directConnection = directUrl === undefined ? undefined : parseDatabaseUrl(directUrl);
  if (directConnection?.password) secrets.push(directConnection.password);

  // An agent's DID names the schema Bindu's server keeps its tables in.
  const schemaOf = (given: string) => {
    const name = given.startsWith('did:') ? schemaNameForDid(given) : given;
    if (!SCHEMA_NAME.test(name)) throw new UsageError(`invalid schema name "${name}"`, 'use letters, digits and _ (at most 63 characters)');
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
    connectTimeoutSeconds: parseSeconds('--connect-timeout', flags.connectTimeout ?? get('PGCONNECT_TIMEOUT'), 10),
    lockTimeoutSeconds: parseSeconds('--lock-timeout', flags.lockTimeout ?? get('BINDU_DB_LOCK_TIMEOUT'), 60),
    ddlLockTimeoutSeconds: parseSeconds('--ddl-lock-timeout', flags.ddlLockTimeout ?? get('BINDU_DB_DDL_LOCK_TIMEOUT'), 5),
    migrationsDir: path.resolve(flags.migrationsDir ?? get('BINDU_DB_MIGRATIONS_DIR') ?? path.join(packageRoot, 'migrations')),
    seedsDir: path.resolve(get('BINDU_DB_SEEDS_DIR') ?? path.join(packageRoot, 'seeds')),
    secrets: Object.freeze(secrets),
    tools: resolveTools(flags.pgBin ?? get('BINDU_DB_PG_BIN'), get),
    toolEnv: Object.freeze(Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && (!/^PG/.test(e[0]) || PASSWORD_VARIABLES.includes(e[0]))))),
  });
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
  throw new ConfigError(`${name} must be true or false, not "${value}"`);
}

export function parseSeconds(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || value.trim() === '') {
    throw new UsageError(`${name} must be a number of seconds, not "${value}"`);
  }
  return n;
}

/**
 * Parses the URL forms Bindu's .env files use: postgresql://, postgres:// and SQLAlchemy's
 * postgresql+driver://. SSL comes from asyncpg's `ssl=` or libpq's `sslmode=`.
 */
export function parseDatabaseUrl(raw: string): PgConnection {
  const shown = maskUrl(raw);
  const fail = (problem: string): never => {
    throw new ConfigError(`invalid database URL (${problem}): ${shown}`, 'expected postgresql://user:password@host:5432/database');
  };

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(raw.trim());
  if (!scheme) fail('it must start with postgresql://');
  const [base, driver] = scheme![1].toLowerCase().split('+', 2);
  if (base !== 'postgresql' && base !== 'postgres') fail(`unsupported scheme "${scheme![1]}"`);
  if (driver !== undefined && !/^[a-z0-9_]+$/.test(driver)) fail(`unsupported driver "${driver}"`);

  let rest = raw.trim().slice(scheme![0].length);
  // Check the port ourselves: WHATWG URL only says "invalid URL" for it.
  const authority = rest.split(/[/?#]/)[0];
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const portMatch = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(hostPort);
  if (portMatch && portMatch[1] !== '') {
    const p = Number(portMatch[1]);
    if (!/^\d+$/.test(portMatch[1]) || p < 1 || p > 65535) fail(`bad port "${portMatch[1]}"`);
  }
  // libpq allows an empty host (postgresql://u@/db?host=/socket/dir); WHATWG URL does not.
  if (hostPort === '' || hostPort.startsWith(':')) {
    const at = authority.length - hostPort.length;
    rest = `${rest.slice(0, at)}localhost${rest.slice(at)}`;
  }

  let url: URL;
  try {
    // Re-root on a scheme WHATWG URL parses as hierarchical; the rest is untouched.
    url = new URL(`postgresql://${rest}`);
  } catch {
    return fail('not a valid URL');
  }

  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return fail(`bad percent-encoding in the ${what}`);
    }
  };
  const params = url.searchParams;
  const user = decode(url.username, 'user name') || params.get('user') || '';
  const password = url.password ? decode(url.password, 'password') : params.get('password') ?? undefined;
  let host = url.hostname.replace(/^\[(.*)\]$/, '$1') || params.get('host') || '';
  if (params.get('host')) host = params.get('host')!;
  if (!host) fail('no host');
  let port = 5432;
  const portText = url.port || params.get('port');
  if (portText) {
    port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`bad port "${portText}"`);
  }
  const database = decode(url.pathname.replace(/^\//, ''), 'database name') || params.get('dbname') || user;
  if (!user) fail('no user name');
  if (database.includes('/')) fail(`bad database name "${database}"`);

  const sslText = params.get('sslmode') ?? params.get('ssl');
  let sslMode: SslMode = 'prefer';
  if (sslText !== null) {
    const mode = SSL_SPELLINGS[sslText.toLowerCase()];
    if (!mode) fail(`unknown ssl mode "${sslText}"; use one of ${Object.keys(SSL_SPELLINGS).join(', ')}`);
    sslMode = mode!;
  }

  return {
    host,
    port,
    user,
    password: password || undefined,
    database,
    sslMode,
    sslRootCert: params.get('sslrootcert') ?? undefined,
    sslCert: params.get('sslcert') ?? undefined,
    sslKey: params.get('sslkey') ?? undefined,
    applicationName: params.get('application_name') ?? undefined,
    ...(params.get('pgbouncer')?.toLowerCase() === 'true' ? { pgbouncer: true as const } : {}),
  };
}

/** A connection as people read it: postgresql://user:***@host:port/db (the password, if any, masked). */
export function describeConnection(c: PgConnection): string {
  const hostPart = c.host.includes(':') ? `[${c.host}]` : c.host;
  const hostShown = c.host.startsWith('/') ? `localhost` : hostPart;
  const cred = `${encodeURIComponent(c.user)}${c.password ? ':***' : ''}`;
  return `postgresql://${cred}@${hostShown}:${c.port}/${encodeURIComponent(c.database)}`;
}

/** Colour: NO_COLOR turns it off unless FORCE_COLOR asks for it; otherwise chalk decides. */
export function colorSetting(env: EnvSource): boolean | undefined {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.NO_COLOR) return false;
  return undefined;
}
