import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { type Config, describeConnection } from '../config.js';
import type { PGlite } from '@electric-sql/pglite';
import type { Database } from '../db/connect.js';
import { type DataTable, MIGRATION_LOGS, type SchemaHolding, cleanStatements, countTasksStatement, dataTables, databaseName, schemaHoldings, truncateStatement } from '../db/clean.js';
import { restoreEmbedded } from '../db/embedded.js';
import { serverVersionNumOf, withConnection } from '../db/pgClient.js';
import type { SqlRunner } from '../db/sqlRunner.js';
import { OperationError, RefusedError, UsageError } from '../errors.js';
import { type DumpEntry, dumpedSchemas, isDataOnly, parseTocLine, readScriptEntries, readScriptHead } from '../lib/dumpContents.js';
import { planTocList, serverMajor } from '../lib/pgArgs.js';
import { abortError, runTool, trapInterrupts } from '../lib/process.js';
import { createRedactor } from '../lib/redact.js';
import { splitScript } from '../lib/sqlScript.js';
import type { BackupFormat } from './backup.js';
import { MISSING_HINT, toolEnv, toolVersion } from './pgTools.js';
import { type RunCtx, restoreArchive, restoreArchiveDirect, restorePlainFile, restoreStream, streamScript } from './restoreRunners.js';

/**
 * Where a restore goes: how to ask it questions, and the embedded instance when it is one.
 * PostgreSQL is asked over one bare pg connection, not knex: loading and opening knex cost
 * more than the restore's whole margin over bare psql (bench/backup.bench.ts).
 */
export interface RestoreTarget {
  readonly kind: 'postgres' | 'embedded';
  /** Masked URL or data directory. */
  readonly label: string;
  /** --schema: the embedded session's search_path is set back to it afterwards. */
  readonly schema: string;
  readonly sql: SqlRunner;
  readonly pglite?: PGlite;
}

/** Runs fn with the configured target: a bare pg connection, or the embedded database (opened by openEmbedded). */
export async function withRestoreTarget<T>(config: Config, openEmbedded: () => Promise<Database>, fn: (target: RestoreTarget) => Promise<T>): Promise<T> {
  const t = config.target;
  if (t.kind === 'postgres') {
    return withConnection(t.connection, config.connectTimeoutSeconds, (sql) => fn({ kind: 'postgres', label: describeConnection(t.connection), schema: config.schema, sql }));
  }
  const db = await openEmbedded();
  return fn({ kind: 'embedded', label: db.label, schema: db.schema, sql: db.sql, pglite: db.pglite });
}

export interface RestoreOptions {
  /** Replace the Bindu tables the dump's schemas hold, in the same transaction. */
  clean?: boolean;
  /** Script bytes fed so far. */
  onProgress?: (bytes: number) => void;
}

export interface RestorePlan {
  file: string;
  format: BackupFormat;
  /** Masked URL or data directory. */
  target: string;
  database: string;
  /** The schemas the dump brings (read from the dump, not from --schema). */
  schemas: string[];
  /** What each of those schemas holds now. */
  holdings: SchemaHolding[];
  /** Those that already hold Bindu tables (restore refuses them without --clean). */
  occupied: SchemaHolding[];
  /** Tasks those schemas hold now (null: no tasks table in any). */
  tasks: number | null;
  /** What the dump creates, from its headers or table of contents. */
  entries: DumpEntry[];
  /** Custom archives: `pg_restore -l` output, and pg_restore's major version. */
  toc?: string;
  pgRestoreMajor?: number;
  /** A data-only dump: rows go into the tables the target has (see planDataOnly). */
  dataOnly?: DataOnlyPlan;
}

/** How a data-only dump is restored. */
export interface DataOnlyPlan {
  /** The tables whose rows are loaded, as the target has them now. */
  tables: DataTable[];
  /** Entries left out: the rows (and id sequence) of a migration log the target has filled already. */
  skip: DumpEntry[];
}

export interface RestoreResult {
  file: string;
  format: BackupFormat;
  seconds: number;
  /** Tasks in the restored schemas afterwards. */
  tasks: number | null;
}

/** The format of a backup file from its first bytes. */
export function sniffFormat(head: Buffer): BackupFormat {
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'custom';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'plain';
}

function readFirstBytes(file: string, fileArg: string): Buffer {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const head = Buffer.alloc(8);
      return head.subarray(0, fs.readSync(fd, head, 0, 8, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new UsageError(`cannot read ${fileArg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** What the dump creates: a plain script's head, or an archive's table of contents. */
async function readEntries(config: Config, file: string, format: BackupFormat): Promise<{ entries: DumpEntry[]; toc?: string; pgRestoreMajor?: number }> {
  if (format === 'custom') {
    const redact = createRedactor(config.secrets);
    const [toc, version] = await Promise.all([
      runTool({ name: 'pg_restore', command: config.tools.pgRestore, ...planTocList(file), env: toolEnv(config) }, { redact, missingHint: MISSING_HINT }),
      toolVersion(config, 'pg_restore', config.tools.pgRestore),
    ]);
    return { entries: toc.split('\n').flatMap((l) => parseTocLine(l) ?? []), toc, pgRestoreMajor: version.major };
  }
  const read = fs.createReadStream(file, { highWaterMark: 64 * 1024 });
  const gunzip = format === 'gzip' ? zlib.createGunzip() : undefined;
  try {
    // A corrupt gzip head simply yields no entries: the restore itself then fails, changing nothing.
    const head = await readScriptHead(gunzip ? read.pipe(gunzip) : read).catch(() => []);
    // A data-only script declares each table just before its rows: read them all (headers only kept).
    return { entries: isDataOnly(head) ? await readWholeScript(file, format).catch(() => head) : head };
  } finally {
    read.destroy();
    gunzip?.destroy();
  }
}

async function readWholeScript(file: string, format: BackupFormat): Promise<DumpEntry[]> {
  const read = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  const gunzip = format === 'gzip' ? zlib.createGunzip() : undefined;
  try {
    return await readScriptEntries(gunzip ? read.pipe(gunzip) : read);
  } finally {
    read.destroy();
    gunzip?.destroy();
  }
}

/** What a backup file is and holds, and that the tools to restore it are there: no database needed. */
export interface InspectedBackup {
  file: string;
  format: BackupFormat;
  entries: DumpEntry[];
  toc?: string;
  pgRestoreMajor?: number;
}

/**
 * Reads the file's format and contents and checks the tools. Needs no connection, so the CLI
 * runs it while the connection opens.
 */
export async function inspectBackup(config: Config, fileArg: string): Promise<InspectedBackup> {
  const file = path.resolve(fileArg);
  const head = readFirstBytes(file, fileArg);
  if (head.length === 0) throw new OperationError(`${fileArg} is empty`, 'nothing was restored; use an intact backup file');
  const format = sniffFormat(head);
  const [contents] = await Promise.all([readEntries(config, file, format), config.target.kind === 'postgres' ? toolVersion(config, 'psql', config.tools.psql) : undefined]);
  return { file, format, ...contents };
}

/** Everything restore checks before changing anything: the file, the tools, the target's contents. */
export async function planRestore(db: RestoreTarget, config: Config, backup: InspectedBackup, opts: RestoreOptions): Promise<RestorePlan> {
  // A dump that declares no schema (not a pg_dump script at all) is checked against --schema.
  const found = dumpedSchemas(backup.entries);
  const schemas = found.length ? found : [config.schema];
  const holdings = await schemaHoldings(db.sql, schemas);
  const plan = { ...backup, target: db.label, schemas, holdings, tasks: sumTasks(holdings) };
  if (isDataOnly(backup.entries)) {
    const dataOnly = await planDataOnly(db, backup, opts);
    return { ...plan, database: await databaseName(db.sql), occupied: [], dataOnly };
  }
  const occupied = holdings.filter((h) => h.tables.length > 0 || h.layout);
  if (occupied.length > 0 && !opts.clean) {
    const what = occupied.map((h) => `"${h.schema}" (${h.tables.join(', ')}${h.layout ? `; ${h.layout} layout` : ''})`).join(', ');
    throw new RefusedError(
      `${db.label} already holds Bindu tables in schema${occupied.length > 1 ? 's' : ''} ${what}`,
      'restore into a database without them, or pass --clean to replace them (in the same transaction)',
    );
  }
  return { ...plan, database: await databaseName(db.sql), occupied };
}

const qualified = (t: { schema: string; name: string }) => `${t.schema}.${t.name}`;

/**
 * A data-only dump goes into tables that exist (made by `migrate up`, or a --schema-only
 * restore), and that are empty unless --clean, which empties them first. The migration log is
 * the target's record of its own schema: its rows are loaded only into an empty log (as a
 * --schema-only restore leaves it), otherwise left out, and never count as rows in the way.
 */
async function planDataOnly(db: RestoreTarget, backup: InspectedBackup, opts: RestoreOptions): Promise<DataOnlyPlan> {
  const data = backup.entries.filter((e): e is DumpEntry & { schema: string } => e.type === 'TABLE DATA' && e.schema !== null);
  const tables = await dataTables(db.sql, data.map((e) => ({ schema: e.schema, name: e.name })));
  const missing = tables.filter((t) => !t.exists);
  if (missing.length > 0) {
    const schema = missing[0].schema;
    const migrate = `bindu-db migrate up${schema === 'public' ? '' : ` --schema ${schema}`}`;
    // One line: what is missing, and what to run.
    throw new OperationError(`${path.basename(backup.file)} is a data-only backup and ${db.label} has no table${missing.length > 1 ? 's' : ''} ${missing.map(qualified).join(', ')} to load it into: create the schema first (${migrate}); nothing was restored`);
  }
  const isLog = (t: { name: string }) => MIGRATION_LOGS.includes(t.name);
  const filled = tables.filter((t) => t.filled && !isLog(t));
  if (filled.length > 0 && !opts.clean) {
    throw new RefusedError(
      `${db.label} already holds rows in ${filled.map(qualified).join(', ')}, which the data-only backup ${path.basename(backup.file)} would load into`,
      'restore into empty tables (e.g. just after bindu-db migrate up), or pass --clean to empty these tables first (in the same transaction; nothing is dropped)',
    );
  }
  const keptLogs = tables.filter((t) => isLog(t) && t.filled);
  const skip = backup.entries.filter((e) =>
    keptLogs.some((t) => t.schema === e.schema && ((e.type === 'TABLE DATA' && e.name === t.name) || (e.type === 'SEQUENCE SET' && e.name === `${t.name}_id_seq`))),
  );
  return { tables: tables.filter((t) => !keptLogs.includes(t)), skip };
}

function sumTasks(holdings: SchemaHolding[]): number | null {
  const counts = holdings.map((h) => h.tasks ?? null);
  return counts.some((n) => n !== null) ? counts.reduce<number>((a, n) => a + (n ?? 0), 0) : null;
}

/**
 * Restores in one transaction that stops at the first error, and commits only once the whole
 * input is known good: a truncated or corrupt file can never be half-committed. With --clean the
 * dump's schemas are cleared first, in that same transaction; other schemas are never touched.
 */
export async function restore(db: RestoreTarget, config: Config, plan: RestorePlan, opts: RestoreOptions): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  const interrupts = trapInterrupts();
  const redact = createRedactor(config.secrets);
  try {
    const preamble = plan.dataOnly
      ? opts.clean ? truncateStatement(plan.dataOnly.tables.filter((t) => !MIGRATION_LOGS.includes(t.name))) : ''
      : opts.clean ? cleanStatements(plan.entries, plan.holdings) : '';
    const targetMajor = serverMajor(await serverVersionNumOf(db.sql));
    // Counted by psql inside the transaction where it can be (the schemas whose tasks table the dump makes).
    const tasksType = plan.dataOnly ? 'TABLE DATA' : 'TABLE';
    const count = countTasksStatement(plan.schemas.filter((s) => plan.entries.some((e) => e.type === tasksType && e.schema === s && e.name === 'tasks')));
    const ctx: RunCtx = { config, plan, preamble, targetMajor, interrupts, redact, onProgress: opts.onProgress, count };
    let tasks: number | undefined;
    if (db.kind === 'embedded') {
      await restoreEmbedded(db.pglite!, db.schema, preamble, splitScript(streamScript(ctx)));
    } else if (plan.format === 'plain' && !plan.dataOnly?.skip.length) {
      tasks = await restorePlainFile(ctx);
    } else if (plan.format === 'custom' && !opts.clean) {
      await restoreArchiveDirect(ctx);
    } else if (plan.format === 'custom' && process.platform !== 'win32' && !((plan.pgRestoreMajor ?? 0) >= 17 && targetMajor < 17)) {
      tasks = await restoreArchive(ctx);
    } else {
      // gzip; a plain script with entries to leave out (a data-only dump's migration log); or a pg_restore 17+ script (SET transaction_timeout) bound for an older server.
      await restoreStream(ctx, Readable.from(streamScript(ctx)));
    }
    return { file: plan.file, format: plan.format, seconds: Number(process.hrtime.bigint() - started) / 1e9, tasks: tasks ?? sumTasks(await schemaHoldings(db.sql, plan.schemas)) };
  } catch (err) {
    if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    throw err;
  } finally {
    interrupts.dispose();
  }
}

