import fs from 'node:fs';
import type { PgConnection } from '../config.js';
import { describeConnection } from '../config.js';
import { ConfigError, OperationError, isPgError } from '../errors.js';
import { loadPg } from './pgDriver.js';
import { type SqlRunner, pgClientRunner } from './sqlRunner.js';
import { pgTimestampTypes } from './timestamps.js';

// node-pg settings for a parsed URL, why connecting failed, and one bare connection for the few
// questions backup and restore ask (a pool and knex cost more than the questions).

/** Where the URL was read, for hints: a connection made in code says DATABASE_URL, as most are. */
const urlOrigin = (c: PgConnection) => c.origin ?? 'DATABASE_URL';

function sslOptions(c: PgConnection): false | Record<string, unknown> {
  const read = (file?: string) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConfigError(`cannot read the SSL file ${file} named in ${urlOrigin(c)} (${code === 'ENOENT' ? 'it does not exist' : code ?? (err as Error).message})`, 'fix sslrootcert, sslcert or sslkey in the URL');
    }
  };
  switch (c.sslMode) {
    case 'disable':
    case 'allow':
    case 'prefer': // node-pg cannot fall back from TLS to plain text, so prefer means plain here
      return false;
    case 'require': // libpq: encrypt, do not verify
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ca: read(c.sslRootCert), cert: read(c.sslCert), key: read(c.sslKey), checkServerIdentity: () => undefined };
    case 'verify-full':
      return { rejectUnauthorized: true, ca: read(c.sslRootCert), cert: read(c.sslCert), key: read(c.sslKey) };
  }
}

/**
 * Sent when the server asks for a password the URL does not carry. Given none, node-pg fails in
 * its own SASL code and leaves the socket open, so the process never exits; given this, the
 * server refuses it (28P01) and closes the connection itself.
 */
const NO_PASSWORD = 'bindu-db: no password in the URL';

/** The node-pg connection settings for a parsed URL (exported for the tests). */
export function pgConnectionSettings(c: PgConnection, connectTimeoutSeconds: number) {
  return {
    host: c.host,
    port: c.port,
    user: c.user,
    password: c.password ?? NO_PASSWORD,
    database: c.database,
    ssl: sslOptions(c),
    application_name: c.applicationName ?? 'bindu-db',
    types: pgTimestampTypes,
    connectionTimeoutMillis: Math.round(connectTimeoutSeconds * 1000),
  };
}

/** One line for the ways connecting fails in practice. */
export function connectError(err: unknown, c: PgConnection, timeout: number): OperationError {
  const e = err as NodeJS.ErrnoException & { code?: string };
  const base = `cannot connect to ${describeConnection(c)}`;
  const origin = urlOrigin(c);
  // The server asked for a password there is none of (NO_PASSWORD was refused; libpq itself
  // says "no password supplied").
  if ((isPgError(err) && (err.code === '28P01' || /authentication failed/i.test(err.message)) && c.password === undefined) || /no password supplied/i.test(e.message ?? '')) {
    const hint = c.passfileGivesNone
      ? `the password file ${c.passfile} ${c.passfileGivesNone}; or add the password to ${origin} or PGPASSWORD`
      : `add it to ${origin} after the user name, as user:password@host (percent-encode special characters), or set PGPASSWORD`;
    return new OperationError(`${base}: the server asks for a password and the URL gives none`, hint, err);
  }
  if (isPgError(err)) {
    const hints: Record<string, string> = {
      '28P01': c.passwordFromEnv
        ? `check the user name in ${origin} and the password in PGPASSWORD`
        : c.passfile
          ? `check the user name in ${origin} and its line in the password file ${c.passfile}`
          : `check the user name and password in ${origin}`,
      '28000': 'the server refused this user or host (pg_hba.conf)',
      '3D000': `create the database first, or fix its name in ${origin}`,
    };
    // PgBouncer refuses a wrong password with its own code (08P01): the message says it.
    const hint = hints[err.code!] ?? (/authentication failed/i.test(err.message) ? hints['28P01'] : undefined);
    return new OperationError(`${base}: ${err.message}`, hint, err);
  }
  if (e.code === 'ECONNREFUSED') return new OperationError(`${base}: connection refused`, 'is the server running and listening on that host and port?', err);
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new OperationError(`${base}: unknown host`, undefined, err);
  if (/timeout/i.test(e.message ?? '')) return new OperationError(`${base}: timed out after ${timeout}s`, 'raise --connect-timeout, or check the host and firewall', err);
  if (/does not support SSL/i.test(e.message ?? '')) return new OperationError(`${base}: the server does not support SSL`, 'use ?sslmode=disable or ?ssl=disable', err);
  return new OperationError(`${base}: ${e.message ?? String(err)}`, undefined, err);
}

/**
 * Opens one bare pg connection (no pool: backup and restore ask a few questions and go), runs fn
 * with the runner on it, and always closes it.
 */
export async function withConnection<T>(c: PgConnection, connectTimeoutSeconds: number, fn: (sql: SqlRunner) => Promise<T>): Promise<T> {
  const client = new (loadPg().Client)(pgConnectionSettings(c, connectTimeoutSeconds));
  client.on('error', () => undefined); // a dropped connection surfaces through the next query
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectError(err, c, connectTimeoutSeconds);
  }
  try {
    return await fn(pgClientRunner(client));
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** server_version_num, e.g. 150018. */
export async function serverVersionNumOf(sql: SqlRunner): Promise<number> {
  const [row] = await sql.query<{ v: string }>("select current_setting('server_version_num') as v");
  return Number(row.v);
}
