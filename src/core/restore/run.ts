import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { PGlite } from '@electric-sql/pglite';
import { type Config, describeConnection } from '../../config.js';
import type { Database } from '../../db/connect.js';
import { restoreEmbedded } from '../../db/embedded.js';
import { serverVersionNumOf, withConnection } from '../../db/pgClient.js';
import type { SqlRunner } from '../../db/sqlRunner.js';
import { MIGRATION_LOGS, cleanSet, cleanStatements, countTasksStatement, createSchemaStatements, dataTables, databaseName, dependentsOutside, parseTasksCount, schemaHoldings, truncateStatement } from '../../db/restoreQueries.js';
import { OperationError, UsageError } from '../../errors.js';
import { type DumpEntry, isDataOnly, isSchemaEntry, parseTocLine, startsData } from '../../lib/dumpContents.js';
import { planPgRestoreDirect, planPgRestoreToScript, planPsqlRestore, planPsqlSteps, planTocList, serverMajor } from '../../lib/pgArgs.js';
import { makeOwnedTempDir } from '../../lib/leftovers.js';
import { type RunningTool, abortError, runTool, startTool } from '../../lib/process.js';
import { createRedactor } from '../../lib/redact.js';
import { readArchiveToc } from '../../lib/archiveToc.js';
import { COMPLETE_MARK, dropEntries, prepareScript, rewriteHeadLine, splitScript } from '../../lib/sqlScript.js';
import type { BackupFormat } from '../backup/plan.js';
import { readArchiveManifest } from '../backup/manifest.js';
import { MISSING_HINT, connectionOf, toolEnv, toolVersion } from '../pgTools.js';
import { type InspectedBackup, type RestorePlan, planRestore, sumTasks } from './plan.js';
import { vetScript } from './vet.js';

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

export interface RestoreResult {
  file: string;
  format: BackupFormat;
  schemas: string[];
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

/** About how many bytes of SQL a backup file carries (compressed formats hold about five times their size); 0 if it cannot be read, which inspectBackup reports. */
export function restoreWork(fileArg: string): number {
  try {
    const size = fs.statSync(fileArg).size;
    return sniffFormat(readFirstBytes(path.resolve(fileArg), fileArg)) === 'plain' ? size : size * 5;
  } catch {
    return 0;
  }
}

const notAFile = (fileArg: string) => new UsageError(`${fileArg} is not a regular file`, 'restore reads a backup file twice (checked first, then run): save it to a file first');

function readFirstBytes(file: string, fileArg: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENXIO' || code === 'ESPIPE') throw notAFile(fileArg);
    throw new UsageError(`cannot read ${fileArg}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code ?? (err as Error).message}`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw notAFile(fileArg);
    const head = Buffer.alloc(8);
    return head.subarray(0, fs.readSync(fd, head, 0, 8, 0));
  } finally {
    fs.closeSync(fd);
  }
}

/** The script a backup file holds, as a stream: the file, gunzipped, or pg_restore's rendering of an archive. */
function scriptOf(config: Config, file: string, format: BackupFormat, signal?: AbortSignal, opts: { list?: string; restrictKey?: string } = {}): { source: AsyncIterable<Buffer>; producer?: RunningTool } {
  if (format === 'custom') {
    const producer = startTool(
      { name: 'pg_restore', command: config.tools.pgRestore, ...planPgRestoreToScript(file, opts), env: toolEnv(config) },
      { stdout: 'pipe', redact: createRedactor(config.secrets), signal, missingHint: MISSING_HINT },
    );
    return { source: producer.stdout!, producer };
  }
  const read = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  if (format === 'plain') return { source: read };
  const gunzip = zlib.createGunzip();
  read.on('error', (e) => gunzip.destroy(e));
  return { source: read.pipe(gunzip) };
}

/** Turns a broken gzip stream into one line. */
function readError(err: unknown, fileArg: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code === 'ERR_ZLIB_INITIALIZATION_FAILED') {
    return new OperationError(`${fileArg} is not a readable gzip file (${(err as Error).message}): it is truncated or corrupt`, 'nothing was restored; use an intact backup file');
  }
  if (code === 'ESPIPE') return notAFile(fileArg);
  return err;
}

/** Reads a backup through the untrusted-file check (vet.ts); the script of an archive too. */
async function vetFile(config: Config, file: string, fileArg: string, format: BackupFormat, toc?: string) {
  // An archive's SQL straight from its table of contents: no data decompressed (bench/backup.bench.ts).
  const fromToc = toc === undefined ? undefined : tocScript(file, toc);
  if (fromToc !== undefined) return vetScript(Readable.from([Buffer.from(fromToc)]), fileArg);
  const { source, producer } = scriptOf(config, file, format);
  try {
    const vetted = await vetScript(source, fileArg);
    await producer?.done;
    return vetted;
  } catch (err) {
    // pg_restore failing ends its output early: its own error says why.
    const failed = producer && (await producer.done.then(() => undefined, (e: unknown) => e));
    throw failed ?? readError(err, fileArg);
  } finally {
    producer?.kill();
  }
}

/** Entries pg_restore never runs into a database (without --create) or lists. */
const UNLISTED = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE', 'DATABASE PROPERTIES']);

/**
 * What pg_restore runs for an archive, as a script, from its table of contents: each entry's SQL,
 * and for table data its COPY statement (the rows themselves are never SQL). Undefined, and the
 * archive is rendered by pg_restore instead, unless the entries read are exactly those
 * `pg_restore -l` lists, and every table's rows load through COPY.
 */
function tocScript(file: string, toc: string): string | undefined {
  const entries = readArchiveToc(file);
  if (!entries) return undefined;
  const listed = toc.split('\n').flatMap((l) => /^(\d+); /.exec(l)?.[1] ?? []).map(Number);
  const read = entries.filter((e) => !UNLISTED.has(e.desc));
  if (read.length !== listed.length || read.some((e, i) => e.id !== listed[i])) return undefined;
  if (entries.some((e) => e.desc === 'TABLE DATA' && !e.copyStmt)) return undefined;
  const parts = entries
    .filter((e) => !e.desc.startsWith('DATABASE'))
    .map((e) => `--\n-- Name: ${e.tag}; Type: ${e.desc}; Schema: ${e.namespace ?? '-'}; Owner: -\n--\n${e.defn}\n${e.copyStmt ? `${e.copyStmt}\n\\.\n` : ''}`);
  return `${parts.join('\n')}\n--\n${COMPLETE_MARK}\n--\n`;
}

/**
 * Reads the file, checks all of it (nothing in it runs before this has passed) and checks the
 * tools. Needs no connection, so the CLI runs it while the connection opens.
 */
export async function inspectBackup(config: Config, fileArg: string): Promise<InspectedBackup> {
  const file = path.resolve(fileArg);
  const head = readFirstBytes(file, fileArg);
  if (head.length === 0) throw new OperationError(`${fileArg} is empty`, 'nothing was restored; use an intact backup file');
  const format = sniffFormat(head);
  const redact = createRedactor(config.secrets);
  const listing = format === 'custom' ? runTool({ name: 'pg_restore', command: config.tools.pgRestore, ...planTocList(file), env: toolEnv(config) }, { redact, missingHint: MISSING_HINT }) : undefined;
  const [vetted, toc] = await Promise.all([
    format === 'custom' ? listing!.then((list) => vetFile(config, file, fileArg, format, list)) : vetFile(config, file, fileArg, format),
    listing,
    config.target.kind === 'postgres' ? toolVersion(config, 'psql', config.tools.psql) : undefined,
  ]);
  const manifest = format === 'custom' ? readArchiveManifest(file) : vetted.manifest;
  const schemas = (manifest?.schemas ?? vetted.schemas).filter((schema) => vetted.written.includes(schema));
  return { file, format, entries: vetted.entries, schemas, manifest, bodyEnd: vetted.bodyEnd, toc };
}

/** What the target holds, and what --clean would take: the plan's facts, then the plan. */
export async function prepareRestore(db: RestoreTarget, config: Config, backup: InspectedBackup, clean: boolean): Promise<RestorePlan> {
  const schemas = backup.schemas.length ? backup.schemas : [config.schema];
  const holdings = await schemaHoldings(db.sql, schemas);
  const database = await databaseName(db.sql);
  const facts = { backup: { ...backup, schemas }, target: db.label, database, holdings, dependents: [] as { what: string }[], clean };
  if (isDataOnly(backup.entries)) {
    const data = backup.entries.filter((e): e is DumpEntry & { schema: string } => e.type === 'TABLE DATA' && e.schema !== null);
    const tables = await dataTables(db.sql, data.map((e) => ({ schema: e.schema, name: e.name })));
    const emptied = tables.filter((t) => t.exists && !MIGRATION_LOGS.includes(t.name));
    return planRestore({ ...facts, dataTables: tables, dependents: clean ? await dependentsOutside(db.sql, emptied) : [] });
  }
  if (!clean) return planRestore(facts);
  const set = cleanSet(backup.entries, holdings);
  return planRestore({ ...facts, dependents: await dependentsOutside(db.sql, [...set.tables, ...set.views], set.types) });
}

/** What every runner needs. */
interface RunCtx {
  config: Config;
  plan: RestorePlan;
  /** Statements before the dump, in its transaction (--clean). */
  preamble: string;
  /** A custom archive's SQL never creates its schemas (pg_restore's list leaves them out): these do, if missing. */
  createSchemas: string;
  targetMajor: number;
  signal: AbortSignal;
  redact: (t: string) => string;
  onProgress?: (bytes: number) => void;
  /** The statement printing the tasks restored, run just before COMMIT. */
  count?: string;
  /** psql runs restricted with this key (\restrict): a key no file can know, so no meta-command in it runs. */
  key: string;
}

/**
 * Restores in one transaction that stops at the first error, and commits only once the whole
 * input is known good: a truncated or corrupt file can never be half-committed. With --clean the
 * dump's schemas are cleared first, in that same transaction; other schemas are never touched.
 * One runner per format, each kept because bench/backup.bench.ts shows it pays.
 */
export async function restore(db: RestoreTarget, config: Config, plan: RestorePlan, signal: AbortSignal, onProgress?: (bytes: number) => void): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  const redact = createRedactor(config.secrets);
  try {
    const preamble = plan.dataOnly
      ? plan.clean ? truncateStatement(plan.dataOnly.tables.filter((t) => !MIGRATION_LOGS.includes(t.name))) : ''
      : plan.clean ? cleanStatements(cleanSet(plan.entries, plan.holdings)) : '';
    const targetMajor = serverMajor(await serverVersionNumOf(db.sql));
    // Counted inside the transaction where it can be (the schemas whose tasks table the dump makes).
    const tasksType = plan.dataOnly ? 'TABLE DATA' : 'TABLE';
    const count = countTasksStatement(plan.schemas.filter((s) => plan.entries.some((e) => e.type === tasksType && e.schema === s && e.name === 'tasks')));
    const createSchemas = plan.format === 'custom' ? createSchemaStatements(plan.entries.filter((e) => e.type === 'SCHEMA').map((e) => e.name)) : '';
    const ctx: RunCtx = { config, plan, preamble, createSchemas, targetMajor, signal, redact, onProgress, count, key: randomBytes(24).toString('hex') };
    let tasks: number | undefined;
    if (db.kind === 'embedded') await restoreEmbedded(db.pglite!, db.schema, createSchemas + preamble, splitScript(script(ctx)));
    else if (plan.format === 'plain' && !plan.dataOnly?.skip.length) tasks = await restorePlainFile(ctx);
    else if (plan.format === 'custom' && !preamble) await restoreArchiveDirect(ctx);
    else tasks = await restoreStream(ctx);
    if (signal.aborted) throw abortError(signal);
    return { file: plan.file, format: plan.format, schemas: plan.schemas, seconds: Number(process.hrtime.bigint() - started) / 1e9, tasks: tasks ?? sumTasks(await schemaHoldings(db.sql, plan.schemas)) };
  } catch (err) {
    if (signal.aborted) throw abortError(signal);
    throw err;
  }
}

/**
 * What psql runs first: the transaction, restricted mode with our key, then the schemas and the
 * preamble, quietly (the notices of --clean's DROP … IF EXISTS would bury the error that matters).
 * Then an empty search_path, as pg_dump's scripts set it: a bare name the check cannot place in a
 * schema is an error, never a table of public.
 */
const psqlOpening = (ctx: RunCtx) => `BEGIN;\n\\restrict ${ctx.key}\nSET client_min_messages = warning;\n${ctx.createSchemas}${ctx.preamble}SELECT pg_catalog.set_config('search_path', '', false);\n`;

/** Collects a child's stdout (psql's, for the task count). */
function collect(tool: RunningTool): () => string {
  let out = '';
  tool.stdout?.setEncoding('utf8');
  tool.stdout?.on('data', (d: string) => (out = (out + d).slice(-8192))); // the count is printed last
  return () => out;
}

const WORK_DIR = 'bindu-restore-';

/** A restore killed outright (kill -9) leaves its directory: the next one removes it. */
const makeWorkDir = () => makeOwnedTempDir(WORK_DIR);

/** A private directory for the small files psql and pg_restore are pointed at; removed after. */
async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = makeWorkDir();
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function psqlTool(ctx: RunCtx, plan: { args: string[]; env: Record<string, string> }) {
  return { name: 'psql', command: ctx.config.tools.psql, args: plan.args, env: { ...ctx.config.toolEnv, ...plan.env } };
}

/** The head of a plain script (up to its first rows, or to `end`) rewritten, and its length in the file (bytes and lines). */
function readHead(file: string, end: number, targetMajor: number): { text: string; length: number; lines: number } {
  const fd = fs.openSync(file, 'r');
  try {
    const size = Math.min(fs.fstatSync(fd).size, end);
    const lines: string[] = [];
    let lineCount = 0;
    const chunk = Buffer.alloc(1 << 16);
    let pending = Buffer.alloc(0);
    let pos = 0;
    let consumed = 0;
    while (pos < size) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - pos), pos);
      if (n === 0) break;
      pos += n;
      const buf = Buffer.concat([pending, chunk.subarray(0, n)]);
      let start = 0;
      for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
        const line = buf.toString('utf8', start, nl);
        if (startsData(line)) return { text: lines.join(''), length: consumed, lines: lineCount };
        lines.push(`${rewriteHeadLine(line, { targetMajor })}\n`);
        lineCount++;
        consumed += nl + 1 - start;
        start = nl + 1;
      }
      pending = Buffer.from(buf.subarray(start));
    }
    // No rows at all (a --schema-only dump): the head is all there is (to `end`, a line's start).
    return { text: lines.join('') + pending.toString('utf8'), length: consumed + pending.length, lines: lineCount };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A plain, uncompressed script: its bytes go from the file to psql without passing through node
 * (through node the same restore took ~20% longer; bench/backup.bench.ts). Only the head (schemas
 * and settings, before the first rows) is rewritten: psql runs BEGIN, \restrict with our key, the
 * preamble and that head from a small file, then the rest of the script up to its own closing
 * \unrestrict, which `dd` cuts off, then COMMIT; ON_ERROR_STOP ends it at the first error, uncommitted.
 */
async function restorePlainFile(ctx: RunCtx): Promise<number | undefined> {
  const { text, length, lines } = readHead(ctx.plan.file, ctx.plan.bodyEnd, ctx.targetMajor);
  return withWorkDir(async (dir) => {
    const headFile = path.join(dir, 'head.sql');
    fs.writeFileSync(headFile, `${psqlOpening(ctx)}${text}`, { mode: 0o600 });
    const body = startTool(
      { name: 'dd', command: 'dd', args: [`if=${ctx.plan.file}`, 'bs=1M', 'iflag=skip_bytes,count_bytes', `skip=${length}`, `count=${Math.max(0, ctx.plan.bodyEnd - length)}`, 'status=none'], env: ctx.config.toolEnv as Record<string, string> },
      { stdout: 'pipe', redact: ctx.redact, signal: ctx.signal },
    );
    const plan = planPsqlSteps(connectionOf(ctx.config), ctx.config.connectTimeoutSeconds, [{ file: headFile }, { file: '-' }, ...(ctx.count ? [{ command: ctx.count }] : []), { command: 'COMMIT' }]);
    const psql = startTool(psqlTool(ctx, plan), { stdin: body.stdout!, stdout: 'pipe', redact: ctx.redact, signal: ctx.signal, missingHint: MISSING_HINT });
    body.stdout!.destroy(); // psql has its own copy of the pipe; ours would hold dd's 'close' forever
    const output = collect(psql);
    try {
      await Promise.all([psql.done, body.done.catch(async (err) => (await psql.done, Promise.reject(err)))]);
    } catch (err) {
      throw inFileLines(err, path.basename(ctx.plan.file), lines);
    } finally {
      body.kill();
    }
    return parseTasksCount(output());
  });
}

/** psql names a line of its standard input: the file's line is that plus `skipped` (a head fed apart, less an opening of ours). A line of the opening stays as psql names it. */
function inFileLines(err: unknown, file: string, skipped: number): unknown {
  if (!(err instanceof OperationError)) return err;
  const message = err.message.replace(/\bpsql:<stdin>:(\d+):/, (all, n: string) => (Number(n) + skipped >= 1 ? `${file} line ${Number(n) + skipped}:` : all));
  return message === err.message ? err : new OperationError(message, err.hint, err);
}

/**
 * The archive's table of contents without the entries that create (or comment on) these schemas,
 * nor those the plan leaves out (a data-only dump's migration log rows).
 */
function listWithout(toc: string, schemas: Set<string>, skip: DumpEntry[] = []): string {
  return toc
    .split('\n')
    .filter((line) => {
      const e = parseTocLine(line);
      if (e && skip.some((s) => s.type === e.type && s.schema === e.schema && s.name === e.name)) return false;
      return !(e && isSchemaEntry(e) && schemas.has(e.type === 'SCHEMA' ? e.name : e.name.slice('SCHEMA '.length)));
    })
    .join('\n');
}

/**
 * A custom archive with nothing to clean: pg_restore restores it directly, in its own single
 * transaction, exactly as bare `pg_restore --single-transaction` would (through psql the same
 * restore took ~15% longer; bench/backup.bench.ts). It runs no psql meta-command, and what it runs
 * is what the check read from it. Schemas that exist already (public always does) are left out of
 * its list; new ones it creates inside that transaction.
 */
async function restoreArchiveDirect(ctx: RunCtx): Promise<void> {
  const { config, plan } = ctx;
  await withWorkDir(async (dir) => {
    const list = path.join(dir, 'list');
    fs.writeFileSync(list, listWithout(plan.toc ?? '', new Set(plan.holdings.filter((h) => h.exists).map((h) => h.schema)), plan.dataOnly?.skip), { mode: 0o600 });
    const direct = planPgRestoreDirect(connectionOf(config), config.connectTimeoutSeconds, plan.file, list);
    const tool = startTool({ name: 'pg_restore', command: config.tools.pgRestore, args: direct.args, env: { ...config.toolEnv, ...direct.env } }, { redact: ctx.redact, signal: ctx.signal, missingHint: MISSING_HINT });
    await tool.done;
  });
}

/**
 * The script, for a runner that reads it through node: cut before its closing \unrestrict, head
 * rewritten, and without the entries the plan leaves out. Archives are rendered by pg_restore with
 * their schema entries left out (restore creates the schemas itself, IF NOT EXISTS).
 */
async function* script(ctx: RunCtx): AsyncGenerator<Buffer> {
  const { config, plan } = ctx;
  const run = async function* (list?: string): AsyncGenerator<Buffer> {
    // An archive is rendered with our key (its closing \unrestrict is then ours to read); a file's own is cut off.
    const { source, producer } = scriptOf(config, plan.file, plan.format, ctx.signal, { list, restrictKey: list ? ctx.key : undefined });
    const end = list ? Infinity : plan.bodyEnd;
    let fed = 0;
    const cut = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of source) {
        const left = end - fed;
        if (left <= 0) continue;
        fed += chunk.length;
        yield chunk.length > left ? chunk.subarray(0, left) : chunk;
        ctx.onProgress?.(Math.min(fed, end));
      }
    };
    const skip = plan.dataOnly?.skip ?? [];
    const prepared = prepareScript(cut(), { targetMajor: ctx.targetMajor });
    try {
      yield* skip.length ? dropEntries(prepared, (e) => skip.some((s) => s.type === e.type && s.schema === e.schema && s.name === e.name)) : prepared;
      await producer?.done;
    } catch (err) {
      const failed = producer && (await producer.done.then(() => undefined, (e: unknown) => e));
      throw failed ?? readError(err, path.basename(plan.file));
    } finally {
      producer?.kill();
    }
  };
  if (plan.format !== 'custom') return yield* run();
  yield* withWorkDirGen(async (dir) => {
    const list = path.join(dir, 'list');
    fs.writeFileSync(list, listWithout(plan.toc ?? '', new Set(plan.entries.filter((e) => e.type === 'SCHEMA').map((e) => e.name)), plan.dataOnly?.skip), { mode: 0o600 });
    return list;
  }, (list) => run(list));
}

async function* withWorkDirGen<T>(setup: (dir: string) => Promise<string>, fn: (value: string) => AsyncGenerator<T>): AsyncGenerator<T> {
  const dir = makeWorkDir();
  try {
    yield* fn(await setup(dir));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** psql fed through node: BEGIN, restricted mode, the schemas and preamble, the script, and COMMIT only once it all went through. */
async function restoreStream(ctx: RunCtx): Promise<number | undefined> {
  const plan = planPsqlRestore(connectionOf(ctx.config), ctx.config.connectTimeoutSeconds);
  const psql = startTool(psqlTool(ctx, plan), { stdin: 'pipe', stdout: 'pipe', redact: ctx.redact, signal: ctx.signal, missingHint: MISSING_HINT });
  const output = collect(psql);
  const opening = psqlOpening(ctx);
  // psql's line n of a file's script (not of the SQL pg_restore renders from an archive) is the file's line n minus the opening's.
  const named = (err: unknown) => (ctx.plan.format === 'custom' ? err : inFileLines(err, path.basename(ctx.plan.file), -(opening.split('\n').length - 1)));
  const full = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.from(opening);
    yield* script(ctx);
    // Only reached when the whole input was read, complete, and its producer succeeded.
    yield Buffer.from(`\n${ctx.count ? `${ctx.count};\n` : ''}COMMIT;\n`);
  };
  try {
    await pipeline(Readable.from(full()), psql.stdin!);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') await psql.done.catch((e: unknown) => Promise.reject(named(e))); // psql stopped reading: its exit says why
    // Our input failed: psql never saw COMMIT. Kill it so its transaction rolls back now.
    psql.kill();
    await psql.done.catch(() => undefined);
    throw err;
  }
  await psql.done.catch((e: unknown) => Promise.reject(named(e)));
  return parseTasksCount(output());
}
