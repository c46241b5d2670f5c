import { parse } from 'pg-connection-string';
import { ConfigError, quoted } from '../errors.js';
import { maskUrl } from '../lib/redact.js';

// DATABASE_URL as Bindu's .env files write it, parsed by pg-connection-string (node-pg's own
// parser) behind a thin layer of ours: SQLAlchemy's postgresql+driver:// schemes, asyncpg's
// `ssl=` spellings, a strict list of query parameters, and messages that never echo any part
// of the user name or password (people paste passwords with unencoded '/', '#' and '@').

/** libpq's sslmode values; asyncpg's `ssl=` spellings map onto them. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';

/** A parsed PostgreSQL connection. `password` never leaves the process except in a child's env. */
export interface PgConnection {
  /** A host name, an IP address, or a Unix-socket directory (starts with '/'). */
  host: string;
  port: number;
  user: string;
  password?: string;
  /** PGPASSFILE, when the URL and PGPASSWORD give no password and it names a file: the password is its line's. */
  passfile?: string;
  /** Why that file gives no password ("has no line for …"): what a refused login's hint says. */
  passfileGivesNone?: string;
  /** The password is PGPASSWORD's, the URL having none: what a failed login's hint names. */
  passwordFromEnv?: true;
  /** Where the URL was read (`--url`, DATABASE_URL, `--direct-url`, DIRECT_DATABASE_URL): what hints name. */
  origin?: string;
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

/** The query parameters we honour. Names are case-sensitive, as in libpq. */
const PARAMETERS = ['host', 'port', 'dbname', 'user', 'password', 'sslmode', 'ssl', 'sslrootcert', 'sslcert', 'sslkey', 'application_name', 'pgbouncer'] as const;

/** The URL as typed, credentials masked and cut to a length fit for one line. */
function shownUrl(raw: string): string {
  const masked = maskUrl(raw);
  return masked.length > 200 ? `${masked.slice(0, 199)}…` : masked;
}

/**
 * Parses the URL forms Bindu's .env files use: postgresql://, postgres:// and SQLAlchemy's
 * postgresql+driver://. SSL comes from asyncpg's `ssl=` or libpq's `sslmode=` (which wins).
 */
export function parseDatabaseUrl(raw: string): PgConnection {
  const text = raw.trim();
  const fail = (problem: string, hint = 'expected postgresql://user:password@host:5432/database'): never => {
    throw new ConfigError(`invalid database URL (${problem}): ${shownUrl(text)}`, hint);
  };

  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (!scheme) return fail('it must start with postgresql://');
  const [base, driver] = scheme[1].toLowerCase().split('+', 2);
  if (base !== 'postgresql' && base !== 'postgres') fail(`unsupported scheme ${quoted(scheme[1])}`);
  if (driver !== undefined && !/^[a-z0-9_]+$/.test(driver)) fail(`unsupported driver ${quoted(driver)}`);

  // The credentials run to the LAST '@': a password may hold an unencoded '@' or ':'. They are
  // decoded here and never echoed; '/', '?', '#' and spaces in them would make the rest ambiguous.
  const afterScheme = text.slice(scheme[0].length);
  const at = afterScheme.lastIndexOf('@');
  const credentials = at >= 0 ? afterScheme.slice(0, at) : '';
  const rest = at >= 0 ? afterScheme.slice(at + 1) : afterScheme;
  const encodeHint = 'percent-encode special characters in the user name and password (/ → %2F, # → %23, ? → %3F, space → %20, % → %25)';
  if (/[/?#\s]/.test(credentials)) fail('not a valid URL: the user name or password holds characters that must be percent-encoded', encodeHint);
  const colon = credentials.indexOf(':');
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      return fail(`bad percent-encoding in the ${what}`, encodeHint);
    }
  };
  const urlUser = decode(colon >= 0 ? credentials.slice(0, colon) : credentials, 'user name');
  const urlPassword = colon >= 0 ? decode(credentials.slice(colon + 1), 'password') : '';

  const [hostAndPath, ...queryParts] = rest.split('?');
  const query = new URLSearchParams(queryParts.join('?'));
  for (const name of new Set(query.keys())) {
    if (!(PARAMETERS as readonly string[]).includes(name)) {
      const lower = name.toLowerCase();
      fail(
        `unknown query parameter ${quoted(name)}`,
        `${(PARAMETERS as readonly string[]).includes(lower) ? `parameter names are lower-case: ${lower}; ` : ''}valid parameters: ${PARAMETERS.join(', ')}`,
      );
    }
  }

  // Check the port ourselves: WHATWG URL (under pg-connection-string) only says "Invalid URL".
  const [authority, ...pathParts] = hostAndPath.split('/');
  const portMatch = /^(?:\[[^\]]*\]|[^:]*):(.*)$/.exec(authority);
  const portText = query.get('port') ?? (portMatch ? portMatch[1] : '');
  let port = 5432;
  if (portText !== '') {
    port = Number(portText);
    // Not quoted: what stands where the port should is a password's tail when the URL was cut short.
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) fail('bad port (a number from 1 to 65535)');
  }
  if (/\s/.test(authority)) fail('not a valid URL: a space in the host');

  // pg-connection-string reads the host (IPv6 brackets, host= sockets) and, from the
  // re-encoded credentials, user and password. Only those parameters go to it: it would read
  // the sslrootcert files itself and warn about sslmode on stderr.
  const passed = new URLSearchParams();
  for (const name of ['host', 'user', 'password'] as const) if (query.has(name)) passed.set(name, query.get(name)!);
  const userinfo = credentials ? `${encodeURIComponent(urlUser)}${colon >= 0 ? `:${encodeURIComponent(urlPassword)}` : ''}@` : '';
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(`postgres://${userinfo}${authority.replace(/:[^:\]]*$/, '')}/${passed.size ? `?${passed}` : ''}`);
  } catch {
    return fail('not a valid URL');
  }

  // Our precedence: the URL's own user over ?user= (pg-connection-string has it the other way).
  const user = urlUser || query.get('user') || '';
  const password = urlPassword || query.get('password') || undefined;
  const host = (query.get('host') || parsed.host || '').replace(/^\[(.*)\]$/, '$1');
  if (!host) fail('no host');
  if (!user) fail('no user name');
  const path = pathParts.join('/').replace(/#.*$/, '');
  const database = decodeDatabase(path) ?? fail('bad percent-encoding in the database name');
  if (database.includes('/')) fail(`bad database name ${quoted(database)}`);

  const sslText = query.get('sslmode') ?? query.get('ssl');
  let sslMode: SslMode = 'prefer';
  if (sslText !== null) {
    const mode = SSL_SPELLINGS[sslText.toLowerCase()];
    if (!mode) fail(`unknown ssl mode ${quoted(sslText)}; use one of ${Object.keys(SSL_SPELLINGS).join(', ')}`);
    sslMode = mode;
  }

  return {
    host,
    port,
    user,
    password,
    database: database || query.get('dbname') || user,
    sslMode,
    sslRootCert: query.get('sslrootcert') ?? undefined,
    sslCert: query.get('sslcert') ?? undefined,
    sslKey: query.get('sslkey') ?? undefined,
    applicationName: query.get('application_name') ?? undefined,
    ...(query.get('pgbouncer')?.toLowerCase() === 'true' ? { pgbouncer: true as const } : {}),
  };
}

function decodeDatabase(path: string): string | undefined {
  try {
    return decodeURIComponent(path);
  } catch {
    return undefined;
  }
}

/**
 * A connection as people read it: postgresql://user:***@host:port/db (the password, if any,
 * masked); a Unix socket as libpq spells it, ?host=/socket/dir.
 */
export function describeConnection(c: PgConnection): string {
  const cred = `${encodeURIComponent(c.user)}${c.password ? ':***' : ''}`;
  const socket = c.host.startsWith('/');
  const hostShown = socket ? '' : c.host.includes(':') ? `[${c.host}]` : c.host;
  return `postgresql://${cred}@${hostShown}:${c.port}/${encodeURIComponent(c.database)}${socket ? `?host=${c.host}` : ''}`;
}
