import type { PgConnection } from '../config.js';
import { ident } from './sqlIdent.js';

// Pure planning of pg_dump / psql / pg_restore invocations: configuration in, argv and env out.
// The connection travels in libpq's environment variables, never in argv, where `ps` shows it
// to every user of the machine: the password only ever goes into PGPASSWORD.

/** What to run: the argv (without the command) and the variables to add to the child's env. */
export interface ToolPlan {
  args: string[];
  env: Record<string, string>;
}

/** libpq's environment for a connection (https://www.postgresql.org/docs/current/libpq-envars.html). */
export function libpqEnv(c: PgConnection, connectTimeoutSeconds: number): Record<string, string> {
  const env: Record<string, string> = {
    PGHOST: c.host,
    PGPORT: String(c.port),
    PGUSER: c.user,
    PGDATABASE: c.database,
    PGSSLMODE: c.sslMode,
    PGAPPNAME: c.applicationName ?? 'bindu-db',
    // libpq wants whole seconds and treats 0 as "wait forever"; never round a short timeout to that.
    PGCONNECT_TIMEOUT: String(Math.max(1, Math.ceil(connectTimeoutSeconds))),
  };
  if (c.password) env.PGPASSWORD = c.password;
  if (c.sslRootCert) env.PGSSLROOTCERT = c.sslRootCert;
  if (c.sslCert) env.PGSSLCERT = c.sslCert;
  if (c.sslKey) env.PGSSLKEY = c.sslKey;
  return env;
}

export type DumpFormat = 'plain' | 'custom';

export interface DumpOptions {
  format: DumpFormat;
  /** Dump only these schemas (-n each); none: the whole database. */
  schemas?: string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
  /** gzip level for a plain dump (pg_dump --compress). pg_dump writes to stdout: the caller hands it the file. */
  compress?: number;
}

/**
 * A --schema pattern matching exactly this name: pg_dump folds an unquoted pattern to lower case
 * and reads * ? . as wildcards, so the name goes in double quotes, its own quotes doubled.
 */
export function exactSchemaPattern(name: string): string {
  return ident(name);
}

/**
 * Portable dumps: no owner or privilege statements, so they restore on managed hosts. Schemas
 * named must all exist (--strict-names): a misspelt one is an error, not a smaller backup.
 */
export function dumpArgs(opts: DumpOptions): string[] {
  const args = ['--no-password', '--no-owner', '--no-privileges', `--format=${opts.format === 'custom' ? 'c' : 'p'}`];
  for (const s of opts.schemas ?? []) args.push(`--schema=${exactSchemaPattern(s)}`);
  if (opts.schemas?.length) args.push('--strict-names');
  if (opts.schemaOnly) args.push('--schema-only');
  if (opts.dataOnly) args.push('--data-only');
  if (opts.compress !== undefined) args.push(`--compress=${opts.compress}`);
  return args;
}

const PSQL_BASE = ['--no-psqlrc', '--no-password', '--quiet', '--no-align', '--tuples-only', '-v', 'ON_ERROR_STOP=1'];

/**
 * psql reading a script on stdin. The script carries its own BEGIN and COMMIT (see core/restore/run.ts):
 * COMMIT is written only once the whole input is known good, so a truncated input can never commit.
 * ON_ERROR_STOP makes the first failed statement end psql, the open transaction rolling back.
 */
export function planPsqlRestore(c: PgConnection, connectTimeoutSeconds: number): ToolPlan {
  return { args: [...PSQL_BASE, '--file=-'], env: libpqEnv(c, connectTimeoutSeconds) };
}

/** One step of a psql run: a script file ('-' is stdin) or one command. */
export type PsqlStep = { file: string } | { command: string };

/**
 * psql running files and commands in order, in one session (psql 9.6+ keeps the order of -f and
 * -c). With ON_ERROR_STOP the first error ends psql before any later step, so a COMMIT given as
 * the last step runs only when everything before it succeeded.
 */
export function planPsqlSteps(c: PgConnection, connectTimeoutSeconds: number, steps: PsqlStep[]): ToolPlan {
  const args = steps.map((s) => ('file' in s ? `--file=${s.file}` : `--command=${s.command}`));
  return { args: [...PSQL_BASE, ...args], env: libpqEnv(c, connectTimeoutSeconds) };
}

/**
 * pg_restore turning a custom archive into a plain script (no connection), on stdout or into
 * `output`, restricted to the entries of `list` when given. The script goes to psql in one
 * transaction that we control: pg_restore's own --single-transaction cannot be made to replace a
 * schema the archive creates (CREATE SCHEMA public fails on every fresh database, and --clean
 * cannot drop a schema holding other objects). `restrictKey`: the key of the \restrict pair it
 * writes around the script, ours, so that psql stays restricted for all of the archive's content.
 */
export function planPgRestoreToScript(file: string, opts: { list?: string; output?: string; restrictKey?: string } = {}): ToolPlan {
  const args = ['--no-owner', '--no-privileges', ...(opts.restrictKey ? [`--restrict-key=${opts.restrictKey}`] : []), ...(opts.list ? [`--use-list=${opts.list}`] : []), `--file=${opts.output ?? '-'}`, file];
  return { args, env: {} };
}

/**
 * pg_restore restoring straight into the database in its own single transaction (libpq's env
 * carries the connection and password; the database name alone goes in argv, as a conninfo
 * string so that no name can be read as one). --single-transaction implies --exit-on-error.
 */
export function planPgRestoreDirect(c: PgConnection, connectTimeoutSeconds: number, file: string, list: string): ToolPlan {
  const dbname = `dbname='${c.database.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return { args: ['--no-password', '--no-owner', '--no-privileges', '--single-transaction', `--use-list=${list}`, `--dbname=${dbname}`, file], env: libpqEnv(c, connectTimeoutSeconds) };
}

/** pg_restore printing an archive's table of contents. */
export function planTocList(file: string): ToolPlan {
  return { args: ['--list', file], env: {} };
}

/** `pg_dump --version` and friends. */
export const VERSION_ARGS = ['--version'];

/** psql printing server_version_num and nothing else; never prompting for a password. */

/** The major version in "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", or "psql (PostgreSQL) 9.6.24". */
export function parseToolVersion(output: string): { major: number; text: string } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?[^\s]*/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  // Before 10 the major was two numbers (9.6).
  return { major: major < 10 && m[2] !== undefined ? Number(`${m[1]}.${m[2]}`) : major, text: m[0].replace(/^\(PostgreSQL\)\s+/, '') };
}

/** The major of server_version_num: 150018 → 15, 90624 → 9.6. */
export function serverMajor(versionNum: number): number {
  return versionNum >= 100000 ? Math.floor(versionNum / 10000) : Math.floor(versionNum / 10000) + Math.floor((versionNum % 10000) / 100) / 10;
}
