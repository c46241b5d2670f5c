import fs from 'node:fs';
import os from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import type pg from 'pg';
import type { Config, PgConnection } from '../config.js';
import { describeConnection } from '../config.js';
import { ConfigError, OperationError } from '../errors.js';
import { importEsm } from '../lib/esm.js';
import { LockHeldError, type LockOwner, acquireFileLock } from '../lib/fileLock.js';
import { bytesUnder } from '../lib/readDirectory.js';
import { ident } from '../lib/sqlIdent.js';
import { EMBEDDED_LOCK, EMBEDDED_PG_MAJOR, FILLING_MARK, type HeadTemplate, RESTAMP_MARK, embeddedStartParams, fillable, headTemplateFor, startFromTemplate } from './embeddedTemplate.js';
import { connectError, pgConnectionSettings } from './pgClient.js';
import { loadPg } from './pgDriver.js';
import { migrationApplicationName, restampApplied } from './migrationLog.js';
import { BACKEND_PID_SQL, type Pooler, type StartupFacts, pooledSessionError, poolerOfProbe, poolerOfUrl, sessionConfig } from './pooler.js';
import { type SqlRunner, pgClientRunner, pgRunner, pgliteRunner } from './sqlRunner.js';
import { pgliteTimestampParsers } from './timestamps.js';

// knex is CommonJS: required on first use, so commands that only read (through `sql`) never
// pay its ~90 ms import.
const require = createRequire(import.meta.url);
const knexFactory = (config: Knex.Config): Knex => (require('knex') as (c: Knex.Config) => Knex)(config);

/** An open database: one pool (or the embedded instance), and what the commands need to know about it. */
export interface Database {
  /** knex on the same pool, built on first use (for user code: seeds; migrations get session.knex). */
  readonly knex: Knex;
  /** Plain parameterized SQL (`?` placeholders), without knex on PostgreSQL: every query of ours. */
  readonly sql: SqlRunner;
  readonly kind: 'postgres' | 'embedded';
  readonly schema: string;
  /** Masked URL, or the embedded data directory. */
  readonly label: string;
  /** Set when a pooler, not PostgreSQL itself, answers (see db/pooler.ts). */
  readonly pooler?: Pooler;
  /** The embedded instance itself, for what knex cannot do (an in-process dump, COPY from a blob). */
  readonly pglite?: PGlite;
  /**
   * PostgreSQL: asks the server to cancel the statements running on these backends (pids read
   * with pg_backend_pid() inside the transactions concerned), from a connection of its own, so a
   * pool busy with those very statements cannot hold the request up.
   */
  readonly cancel?: (pids: readonly number[]) => Promise<void>;
  /** Embedded: this run made the data directory with the migrations of OpenOptions.atHead applied. */
  readonly startedAtHead?: boolean;
  /** Runs fn on one connection held until it returns: session state (an advisory lock, SET) lasts. */
  withSession<T>(fn: (session: Session) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** One connection, as our runner and as knex (for migration code). */
export interface Session {
  readonly sql: SqlRunner;
  readonly knex: Knex;
}

export interface OpenOptions {
  /**
   * The command needs a session (its name, for the error): it runs on DIRECT_DATABASE_URL when
   * set, and never through a pooler.
   */
  session?: string;
  /**
   * Embedded: the package's migrations the caller applies right after opening. A data directory
   * made now starts with them applied (from the head template) when the build applied exactly
   * these in this schema; `startedAtHead` then says so.
   */
  atHead?: HeadTemplate['migrations'];
  /** Embedded: how long to wait for another process to let go of the data directory (migrate up/down, as their lock waits on PostgreSQL); else none. */
  waitSeconds?: number;
  /** Embedded: the command's SQL work grows with the data (dumps, restores, bulk inserts): see optimisedCompile. */
  bulk?: boolean;
  /** Embedded, with `bulk`: about how many bytes of data the command brings in (a restore's file, generated rows). */
  work?: number;
}

/** Where optimising pays (measured: at 50,000 tasks, 190 MB, both take as long; at 250,000 the baseline takes 1.4–1.7× as long). */
const HEAVY_BYTES = 128 * 2 ** 20;

/**
 * Whether PGlite's WebAssembly is compiled as usual (baseline first, optimised where hot): only
 * for bulk work on much data, the data directory plus what the command brings in. Otherwise V8's
 * baseline compiler (Liftoff) alone compiles it: a command starts ~0.2 s sooner, ~80 MiB smaller
 * and at a third of the CPU, and on small data runs as fast.
 */
export function optimisedCompile(dataDir: string, options: Pick<OpenOptions, 'bulk' | 'work'>): boolean {
  return options.bulk === true && bytesUnder(dataDir) + (options.work ?? 0) >= HEAVY_BYTES;
}

// knex logs connection errors to the console itself; we report every error once, our way.
const quietLog = { warn() {}, error() {}, deprecate() {}, debug() {} };

/** Opens the configured database and checks that it answers. */
export async function openDatabase(config: Config, options: OpenOptions = {}): Promise<Database> {
  if (config.target.kind === 'embedded') return openEmbedded(config, config.target.dataDir, options);
  if (options.session === undefined) return openPostgres(config, config.target.connection);
  const direct = config.directConnection !== undefined;
  const c = sessionConfig(config).target as { connection: PgConnection };
  const said = poolerOfUrl(c.connection);
  if (said) throw pooledSessionError(c.connection, said, options.session, direct);
  // application_name says who holds the migration lock (see migrate unlock); set at start-up, no statement.
  const db = await openPostgres(config, c.connection, migrationApplicationName(options.session));
  if (db.pooler) {
    await db.close();
    throw pooledSessionError(c.connection, db.pooler, options.session, direct);
  }
  return db;
}

/**
 * Checks that backup or restore (which connect through pg_dump, psql or a bare client) can run
 * on sessionConfig(config): exit 2 naming DIRECT_DATABASE_URL when that is a pooler. A URL the
 * operator gave as DIRECT_DATABASE_URL is taken at its word unless its name says pooler;
 * otherwise the configured URL is probed (one connection).
 */
export async function checkSession(config: Config, command: string): Promise<void> {
  const direct = config.directConnection;
  if (config.target.kind !== 'postgres') return;
  if (direct) {
    const said = poolerOfUrl(direct);
    if (said) throw pooledSessionError(direct, said, command, true);
    return;
  }
  await (await openDatabase(config, { session: command })).close();
}

async function openPostgres(config: Config, c: PgConnection, applicationName?: string): Promise<Database> {
  const settings = { ...pgConnectionSettings(c, config.connectTimeoutSeconds), ...(applicationName ? { application_name: applicationName } : {}) };
  const pg = loadPg();
  // No startup `options` (a transaction pooler refuses them) and no session state: every
  // statement names its schema (db/inspect/source.ts table()).
  const pool = new pg.Pool({ ...settings, max: 4, Client: startupRecordingClient(pg.Client) });
  pool.on('error', () => undefined); // an idle client dropped by the server is not our failure
  const label = describeConnection(c);
  let probe: { pooler?: Pooler; version: string };
  try {
    const client = await pool.connect();
    try {
      const [row] = (await client.query<{ pid: number; version: string }>(`${BACKEND_PID_SQL}, current_setting('server_version') as version`)).rows;
      const pooler = poolerOfProbe(c, client as StartupFacts, row.pid);
      probe = { ...(pooler ? { pooler } : {}), version: row.version.split(' ')[0] };
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw connectError(err, c, config.connectTimeoutSeconds);
  }
  const knexOn = (connectionPool: unknown) =>
    knexFactory({
      client: 'pg',
      connectionPool: connectionPool as Knex.Config['connectionPool'],
      version: probe.version, // known already: knex need not ask
      acquireConnectionTimeout: Math.round(config.connectTimeoutSeconds * 1000) + 2000,
      log: quietLog,
    });
  let knex: Knex | undefined;
  return {
    get knex() {
      return (knex ??= knexOn(pool));
    },
    sql: pgRunner(pool),
    kind: 'postgres',
    cancel: async (pids) => {
      if (pids.length === 0) return;
      const client = new pg.Client(settings);
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]);
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    schema: config.schema,
    label,
    ...(probe.pooler ? { pooler: probe.pooler } : {}),
    withSession: async (fn) => {
      const conn = await pool.connect();
      let failed: Error | undefined;
      const onError = (err: Error) => (failed = err);
      conn.on('error', onError);
      // knex only once migration code asks for it: an up with nothing to apply never loads it.
      let sessionKnex: Knex | undefined;
      try {
        return await fn({
          sql: pgClientRunner(conn),
          get knex() {
            return (sessionKnex ??= knexOn(heldConnection(conn)));
          },
        });
      } finally {
        await sessionKnex?.destroy(); // knex's own state; the connection is ours
        conn.off('error', onError);
        conn.release(failed); // a broken connection is dropped, not pooled
      }
    },
    close: async () => {
      await knex?.destroy();
      await pool.end();
    },
  };
}

/** pg's Client, also keeping what the pooler probe reads (StartupFacts: processID is pg's own). */
function startupRecordingClient(Base: typeof pg.Client) {
  return class extends Base {
    lastParameter?: string;
    constructor(config?: pg.ClientConfig) {
      super(config);
      this.connection.on('parameterStatus', (m: { parameterName: string }) => (this.lastParameter = m.parameterName));
    }
  };
}

/** A knex pool (tarn's interface) of one connection that the caller holds and releases. */
function heldConnection(conn: object) {
  Object.assign(conn, { __knexUid: 'session' });
  return {
    acquire: () => ({ promise: Promise.resolve(conn) }),
    release: () => true,
    destroy: async () => undefined,
    numFree: () => 0,
    numUsed: () => 1,
    numPendingAcquires: () => 0,
  };
}

/**
 * A knex transaction whose search_path is the schema, for user code (seeds) that names tables
 * unqualified. SET LOCAL ends with the transaction, so it holds through a pooler too.
 */
export async function knexInSchema<T>(knex: Knex, schema: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw('select pg_catalog.set_config(?, ?, true)', ['search_path', ident(schema)]);
    return fn(trx);
  });
}

/** knex-pglite puts the search_path name in double quotes without doubling the quotes inside it. */
const knexPgliteName = (schema: string) => schema.replace(/"/g, '""');

async function openEmbedded(config: Config, dataDir: string, options: OpenOptions): Promise<Database> {
  // PGlite is WebAssembly: without it PGlite only fails to start, which would read as damaged files.
  if (typeof WebAssembly === 'undefined') {
    throw new OperationError('the embedded database needs WebAssembly, which this node runs without (--jitless)', 'run node without --jitless (in NODE_OPTIONS?), or set DATABASE_URL to use PostgreSQL');
  }
  checkDataDirVersion(dataDir);
  try {
    fs.mkdirSync(dataDir, { recursive: true }); // made empty here, filled under the lock below
  } catch (err) {
    if (!isPermissionError(err)) throw err;
    throw new OperationError(`cannot make the embedded database at ${dataDir}: ${nearestExisting(dataDir)} is not writable by this user (permission denied)`, 'run as a user who may write there, or point --data-dir at a directory you can write');
  }
  // PGlite opens a directory by its own path: a link (to a volume, say) is followed here. The lock
  // is inside the directory, so every way to it (links, two mounts of one volume, two containers)
  // meets the same one.
  const dir = fs.realpathSync(dataDir);
  const lockFile = path.join(dir, EMBEDDED_LOCK);
  let release: () => void;
  const waitUntil = Date.now() + (options.waitSeconds ?? 0) * 1000;
  for (;;) {
    try {
      release = await acquireFileLock(lockFile);
      break;
    } catch (err) {
      if (err instanceof LockHeldError && Date.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (err instanceof LockHeldError) throw inUseError(dataDir, lockFile, err.owner);
      if (isPermissionError(err)) throw notWritable(dataDir);
      if ((err as NodeJS.ErrnoException).code === 'EISDIR') throw new OperationError(`${lockFile} is a directory, not bindu-db's lock file`, 'remove it: bindu-db makes that file itself, while a command runs');
      throw err;
    }
  }
  try {
    // Under the lock: two first runs never both make the directory.
    let startedAtHead = false;
    if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
      const head = options.atHead && headTemplateFor(config.schema, options.atHead);
      startedAtHead = head !== undefined && startFromTemplate(dir, head, { restamp: config.schema });
      if (!startedAtHead) startFromTemplate(dir);
    }
    fs.rmSync(path.join(dir, FILLING_MARK), { force: true }); // filled whole: PG_VERSION went in last
    const restamp = readIfThere(path.join(dir, RESTAMP_MARK));
    // Before PGlite compiles its WebAssembly, which happens once per process. Its functions are
    // validated as they are first compiled, not all at start: the package's own code, and a short
    // command calls a fraction of them.
    const v8 = await importEsm<typeof import('node:v8')>('node:v8');
    v8.setFlagsFromString('--wasm-lazy-validation');
    if (!optimisedCompile(dir, options)) v8.setFlagsFromString('--liftoff-only');
    const { PGlite } = await importEsm<typeof import('@electric-sql/pglite')>('@electric-sql/pglite');
    let pglite: PGlite;
    try {
      pglite = await PGlite.create(dir, { parsers: pgliteTimestampParsers, startParams: embeddedStartParams(PGlite.defaultStartParams) });
    } catch (err) {
      throw embeddedOpenError(dataDir, err);
    }
    // PGlite is one session, in process, no pooler: search_path set once serves migration code.
    await pglite.exec(`create schema if not exists ${ident(config.schema)}; set search_path to ${ident(config.schema)}`);
    if (restamp !== undefined) {
      await restampApplied(pgliteRunner(pglite), restamp);
      fs.rmSync(path.join(dir, RESTAMP_MARK));
    }
    let knex: Knex | undefined;
    const knexOnce = () => (knex ??= knexFactory({ client: require('knex-pglite'), connection: { pglite } as never, searchPath: [knexPgliteName(config.schema)], log: quietLog }));
    const sql = pgliteRunner(pglite);
    return {
      get knex() {
        return knexOnce();
      },
      sql,
      kind: 'embedded',
      // PGlite is one session already.
      withSession: (fn) =>
        fn({
          sql,
          get knex() {
            return knexOnce();
          },
        }),
      schema: config.schema,
      label: dataDir,
      pglite,
      ...(startedAtHead ? { startedAtHead } : {}),
      close: async () => {
        try {
          await knex?.destroy(); // closes the PGlite instance too
          if (!pglite.closed) await pglite.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

const readIfThere = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

function inUseError(dataDir: string, lockFile: string, owner: LockOwner): OperationError {
  if (owner.host === os.hostname()) {
    return new OperationError(
      `the embedded database ${dataDir} is in use by another bindu-db process (pid ${owner.pid})`,
      `wait for it to finish; two processes must never open one data directory at once (if pid ${owner.pid} is not bindu-db, the lock outlived a restart: remove ${lockFile})`,
    );
  }
  // Its liveness cannot be checked from here: only someone who knows that host can say it is gone.
  return new OperationError(
    `the embedded database ${dataDir} is in use by bindu-db pid ${owner.pid} on host ${owner.host} since ${owner.since}`,
    `wait for it to finish; if nothing runs there any more (a container that was stopped), remove ${lockFile}`,
  );
}

const isPermissionError = (err: unknown) => ['EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '');

function notWritable(dataDir: string): OperationError {
  return new OperationError(`the embedded database at ${dataDir} is not writable by this user (permission denied)`, 'run as the user who owns it, or point --data-dir at a copy you can write');
}

/**
 * PGlite says only "PGlite failed to initialize properly" or "Aborted(). Build with
 * -sASSERTIONS for more info." when it cannot open a directory: say what that means.
 */
function embeddedOpenError(dataDir: string, err: unknown): OperationError {
  try {
    fs.accessSync(dataDir, fs.constants.W_OK);
  } catch (access) {
    if (isPermissionError(access)) return notWritable(dataDir);
  }
  return new OperationError(
    `could not open the embedded database at ${dataDir}: its files look damaged (the embedded PostgreSQL ${/Aborted\(\)/.test(String((err as Error)?.message)) ? 'aborted' : 'failed to start'})`,
    'restore a backup into a new --data-dir (bindu-db --data-dir <new> restore <file>), or move the directory away to start afresh',
    err,
  );
}

/**
 * The data directory's own stat (undefined when it does not exist yet), its path's faults said in
 * one line: a link to nothing, a file on the way.
 */
function dataDirStat(dataDir: string): fs.Stats | undefined {
  try {
    const stat = fs.statSync(dataDir, { throwIfNoEntry: false });
    if (!stat && fs.lstatSync(dataDir, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new ConfigError(`the embedded database path ${dataDir} is a symbolic link to ${fs.readlinkSync(dataDir)}, which does not exist`, 'make that directory (empty), or point --data-dir (or BINDU_DB_DATA_DIR) elsewhere');
    }
    return stat;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ConfigError(`the embedded database path ${dataDir} is a loop of symbolic links`, 'point --data-dir (or BINDU_DB_DATA_DIR) at a directory, or at a link to one');
    }
    if ((err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    throw new ConfigError(`the embedded database path ${dataDir} goes through ${nearestExisting(dataDir)}, which is not a directory`, 'point --data-dir (or BINDU_DB_DATA_DIR) at a path under directories');
  }
}

/** The nearest ancestor of `dataDir` that exists: where making it is refused, or the file its path goes through. */
function nearestExisting(dataDir: string): string {
  let dir = path.dirname(dataDir);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

/** A data directory made by a PGlite of another PostgreSQL major fails with a cryptic message; say why. */
function checkDataDirVersion(dataDir: string): void {
  const stat = dataDirStat(dataDir);
  if (stat?.isDirectory() === false) {
    throw new ConfigError(`the embedded database path ${dataDir} is not a directory`, 'point --data-dir (or BINDU_DB_DATA_DIR) at a directory, or at a path that does not exist yet');
  }
  let version: string;
  try {
    version = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch {
    // Half filled in place by a run that was killed: the next fills it again.
    if (stat && !fillable(dataDir)) {
      throw new OperationError(`${dataDir} is not an embedded database directory (no PG_VERSION)`, 'point BINDU_DB_DATA_DIR at an empty or bindu-db directory');
    }
    return;
  }
  if (version !== EMBEDDED_PG_MAJOR) {
    throw new OperationError(
      `the embedded database at ${dataDir} was made by PostgreSQL ${version}; this bindu-db embeds PostgreSQL ${EMBEDDED_PG_MAJOR}`,
      'back it up with the bindu-db version that made it (bindu-db backup), then restore into a new BINDU_DB_DATA_DIR',
    );
  }
}

/**
 * The same open database read as another schema: one pool and one embedded instance for
 * every schema a long-running reader (the studio) shows. Statements are schema-qualified
 * from `schema`, so no session state changes; closing the view closes nothing.
 */
export function inSchema(db: Database, schema: string): Database {
  if (schema === db.schema) return db;
  return Object.create(db, { schema: { value: schema, enumerable: true }, close: { value: async () => undefined } }) as Database;
}
