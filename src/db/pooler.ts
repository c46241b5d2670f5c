import type { Config, PgConnection } from '../config.js';
import { describeConnection } from '../config.js';
import { ConfigError } from '../errors.js';

// Transaction poolers (PgBouncer in transaction mode, as Neon's pooled endpoint runs it) hand
// each transaction to whichever server connection is free: nothing that lives in a session
// (an advisory lock, SET, a prepared statement, pg_dump's settings) survives, and a session
// setting leaks to other clients. Reads work through one; migrations, backup and restore need
// the direct endpoint.

/** A pooler in front of the server, and how we know. */
export interface Pooler {
  /** What runs there, as far as we can tell: "PgBouncer", or "a connection pooler". */
  name: string;
}

/** What the URL alone says: Prisma's `?pgbouncer=true`, or Neon's `-pooler` host names. */
export function poolerOfUrl(c: PgConnection): Pooler | undefined {
  if (c.pgbouncer) return { name: 'PgBouncer' };
  if (/^[^.]+-pooler\./.test(c.host)) return { name: 'PgBouncer' }; // ep-cool-name-123-pooler.eu-central-1.aws.neon.tech
  return undefined;
}

/**
 * What a connection shows: PostgreSQL tells each client its backend's pid at start-up (the
 * cancel key), and a pooler makes one up, since the backend changes from one transaction to the
 * next. So `pg_backend_pid()` differs from the announced pid exactly when something pools in
 * between. Costs nothing: it is the query that checks the connection answers.
 */
export const BACKEND_PID_SQL = 'select pg_backend_pid() as pid';

/** What start-up showed: the pid announced (pg's processID), and the name of the last parameter reported. */
export interface StartupFacts {
  processID?: number | null;
  lastParameter?: string;
}

export function poolerOfProbe(c: PgConnection, startup: StartupFacts, backendPid: number): Pooler | undefined {
  if (startup.processID === undefined || startup.processID === null || startup.processID === backendPid) return undefined;
  // PostgreSQL reports its parameters in name order (TimeZone last); PgBouncer replays the
  // server's and then its own tracked ones, application_name last.
  if (startup.lastParameter === 'application_name') return { name: 'PgBouncer' };
  return poolerOfUrl(c) ?? { name: 'a connection pooler' };
}

/** The notice line's suffix: ` (pooled: PgBouncer)`. */
export const pooledNote = (p: Pooler | undefined): string => (p ? ` (pooled: ${p.name})` : '');

/**
 * The configuration a command that needs a session runs with: DIRECT_DATABASE_URL's connection
 * when it is set, else the configured one. Pure: whether that one is a pooler is checked when
 * it connects (openDatabase with `session`, or checkSession).
 */
export function sessionConfig(config: Config): Config {
  if (config.target.kind !== 'postgres' || !config.directConnection) return config;
  return Object.freeze({ ...config, target: { kind: 'postgres' as const, connection: config.directConnection } });
}

/** Exit 2 with one line naming the variable: a session command was pointed at a pooler. */
export function pooledSessionError(c: PgConnection, p: Pooler, command: string, direct: boolean): ConfigError {
  return direct
    ? new ConfigError(`DIRECT_DATABASE_URL ${describeConnection(c)} is pooled too (${p.name}); ${command} needs the direct endpoint`)
    : new ConfigError(`${describeConnection(c)} is pooled (${p.name}) and ${command} needs a session: set DIRECT_DATABASE_URL (or --direct-url) to the direct endpoint`);
}
