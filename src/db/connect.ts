import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import type { Config, PgConnection } from '../config.js';
import { describeConnection } from '../config.js';
import { OperationError } from '../errors.js';
import { LockHeldError, acquireFileLock } from '../lib/fileLock.js';
import { connectError, pgConnectionSettings } from './pgClient.js';
import { type SqlRunner, knexRunner, pgRunner } from './sqlRunner.js';

// knex is CommonJS: required on first use, so commands that only read (through `sql`) never
// pay its ~90 ms import.
const require = createRequire(import.meta.url);
const knexFactory = (config: Knex.Config): Knex => (require('knex') as (c: Knex.Config) => Knex)(config);

/** The PostgreSQL major the pinned PGlite embeds; a data directory from another major cannot be opened. */
export const EMBEDDED_PG_MAJOR = '18';

/** An open database: a knex handle plus what the commands need to know about it. */
export interface Database {
  /** knex, built on first use. */
  readonly knex: Knex;
  /** Plain parameterized SQL, without knex on PostgreSQL (the inspection commands' path). */
  readonly sql: SqlRunner;
  readonly kind: 'postgres' | 'embedded';
  readonly schema: string;
  /** Masked URL, or the embedded data directory. */
  readonly label: string;
  /** The embedded instance itself, for what knex cannot do (an in-process dump, COPY from a blob). */
  readonly pglite?: PGlite;
  close(): Promise<void>;
}

// knex logs connection errors to the console itself; we report every error once, our way.
const quietLog = { warn() {}, error() {}, deprecate() {}, debug() {} };

/** Opens the configured database and checks that it answers. */
export async function openDatabase(config: Config): Promise<Database> {
  return config.target.kind === 'postgres'
    ? openPostgres(config, config.target.connection)
    : openEmbedded(config, config.target.dataDir);
}

/** Opens the database, runs fn, and always closes it. */
export async function withDatabase<T>(config: Config, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(config);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function openPostgres(config: Config, c: PgConnection): Promise<Database> {
  const settings = pgConnectionSettings(c, config.connectTimeoutSeconds);
  const { default: pg } = await import('pg');
  // search_path as a startup parameter: set on every pooled connection with no extra round trip.
  const pool = new pg.Pool({ ...settings, max: 4, options: `-c search_path=${quoteSearchPath(config.schema)}` });
  pool.on('error', () => undefined); // an idle client dropped by the server is not our failure
  const label = describeConnection(c);
  try {
    await pool.query('select 1');
  } catch (err) {
    await pool.end();
    throw connectError(err, label, config.connectTimeoutSeconds);
  }
  let knex: Knex | undefined;
  return {
    get knex() {
      return (knex ??= knexFactory({
        client: 'pg',
        connection: settings,
        searchPath: [config.schema],
        pool: { min: 0, max: 4 },
        acquireConnectionTimeout: Math.round(config.connectTimeoutSeconds * 1000) + 2000,
        log: quietLog,
      }));
    },
    sql: pgRunner(pool),
    kind: 'postgres',
    schema: config.schema,
    label,
    close: async () => {
      await Promise.all([knex?.destroy(), pool.end()]);
    },
  };
}

/** A schema name as a libpq `options` value: double-quoted, with spaces and backslashes escaped. */
function quoteSearchPath(schema: string): string {
  return `"${schema.replace(/"/g, '""')}"`.replace(/\\/g, '\\\\').replace(/ /g, '\\ ');
}

async function openEmbedded(config: Config, dataDir: string): Promise<Database> {
  checkDataDirVersion(dataDir);
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  let release: () => void;
  try {
    release = await acquireFileLock(`${dataDir}.lock`);
  } catch (err) {
    if (err instanceof LockHeldError) {
      throw new OperationError(
        `the embedded database ${dataDir} is in use by another bindu-db process (pid ${err.owner.pid})`,
        'wait for it to finish; two processes must never open one data directory at once',
      );
    }
    throw err;
  }
  try {
    const [{ PGlite }, { default: ClientPgLite }] = await Promise.all([import('@electric-sql/pglite'), import('knex-pglite')]);
    let pglite;
    try {
      pglite = await PGlite.create(dataDir);
    } catch (err) {
      throw new OperationError(`could not open the embedded database at ${dataDir}: ${(err as Error).message}`, undefined, err);
    }
    await pglite.exec(`create schema if not exists "${config.schema}"`);
    const knex = knexFactory({ client: ClientPgLite, connection: { pglite } as never, searchPath: [config.schema], log: quietLog });
    return {
      knex,
      sql: knexRunner(knex),
      kind: 'embedded',
      schema: config.schema,
      label: dataDir,
      pglite,
      close: async () => {
        try {
          await knex.destroy(); // closes the PGlite instance too
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

/** A data directory made by a PGlite of another PostgreSQL major fails with a cryptic message; say why. */
function checkDataDirVersion(dataDir: string): void {
  let version: string;
  try {
    version = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8').trim();
  } catch {
    if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
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
