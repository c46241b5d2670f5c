import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { Config, PgConnection } from '../config.js';
import type { Database } from '../db/connect.js';
import { binduTablesIn, countTasks, currentDatabase, serverVersionNum } from '../db/catalog.js';
import { dumpEmbedded, quoteIdent, restoreEmbedded } from '../db/embedded.js';
import { ConfigError, OperationError, RefusedError, UsageError } from '../errors.js';
import { VERSION_ARGS, dumpArgs, libpqEnv, parseToolVersion, planPgRestoreToScript, planPsqlRestore, serverMajor } from '../lib/pgArgs.js';
import { type Interrupts, type RunningTool, abortError, runTool, startTool, trapInterrupts } from '../lib/process.js';
import { createRedactor } from '../lib/redact.js';
import { prepareScript, splitScript } from '../lib/sqlScript.js';

/** plain: .sql; gzip: plain SQL gzip-compressed, .sql.gz; custom: pg_dump's archive, .dump. */
export type BackupFormat = 'plain' | 'gzip' | 'custom';

export interface BackupOptions {
  file: string;
  /** --format; otherwise from the extension. */
  format?: 'plain' | 'custom';
  schemaOnly?: boolean;
  dataOnly?: boolean;
  /** Replace an existing file. */
  force?: boolean;
  /** Bytes written so far (for a spinner). */
  onProgress?: (bytes: number) => void;
}

export interface BackupResult {
  file: string;
  format: BackupFormat;
  bytes: number;
  sha256: string;
  seconds: number;
}

/** The format from --format and the file name: the extension decides compression. */
export function resolveBackupFormat(file: string, flag?: string): BackupFormat {
  const gz = /\.gz$/i.test(file);
  if (flag !== undefined) {
    if (flag !== 'plain' && flag !== 'custom') throw new UsageError(`unknown format "${flag}"`, 'use --format plain or --format custom');
    if (flag === 'custom' && gz) throw new UsageError('a custom-format dump is already compressed: name it .dump, not .gz');
    return flag === 'plain' && gz ? 'gzip' : flag;
  }
  if (/\.sql\.gz$/i.test(file)) return 'gzip';
  if (/\.sql$/i.test(file)) return 'plain';
  if (/\.dump$/i.test(file)) return 'custom';
  throw new UsageError(`cannot tell the format of "${path.basename(file)}" from its extension`, 'name it .sql, .sql.gz or .dump, or pass --format plain|custom');
}

const MISSING_HINT = 'install the PostgreSQL client tools (e.g. apt-get install postgresql-client), or point --pg-bin <dir> (or PG_DUMP, PSQL, PG_RESTORE) at them';

function toolEnv(config: Config, c?: PgConnection): Record<string, string> {
  return { ...config.toolEnv, ...(c ? libpqEnv(c, config.connectTimeoutSeconds) : {}) };
}

function connectionOf(config: Config): PgConnection {
  if (config.target.kind !== 'postgres') throw new Error('not a PostgreSQL target');
  return config.target.connection;
}

/** Runs `<tool> --version`; a missing tool is a ConfigError naming where it was looked for. */
async function toolVersion(config: Config, name: string, command: string): Promise<{ major: number; text: string }> {
  const out = await runTool({ name, command, args: VERSION_ARGS, env: toolEnv(config) }, { redact: createRedactor(config.secrets), missingHint: MISSING_HINT });
  const version = parseToolVersion(out);
  if (!version) throw new ConfigError(`${command} --version printed "${out.trim().slice(0, 80)}", not a PostgreSQL version`, MISSING_HINT);
  return version;
}

/** pg_dump refuses servers newer than itself, after connecting; say so before creating anything. */
async function checkPgDump(config: Config, db: Database): Promise<void> {
  const tool = await toolVersion(config, 'pg_dump', config.tools.pgDump);
  const num = await serverVersionNum(db.knex);
  const server = serverMajor(num);
  if (tool.major < server) {
    const serverText = num >= 100000 ? `${Math.floor(num / 10000)}.${num % 10000}` : String(server);
    throw new ConfigError(
      `pg_dump ${tool.text} (${config.tools.pgDump}) is older than the server, PostgreSQL ${serverText}: pg_dump cannot dump a newer server`,
      `install the PostgreSQL ${server} client tools (e.g. apt-get install postgresql-client-${server}) and pass --pg-bin <their bin directory>, or set PG_DUMP`,
    );
  }
}

/** Counts and hashes the bytes on their way to the file. */
function meter(onProgress?: (bytes: number) => void) {
  const hash = createHash('sha256');
  let bytes = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      done(null, chunk);
    },
  });
  return { transform, result: () => ({ bytes, sha256: hash.digest('hex') }) };
}

async function hashFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const m = meter();
  await pipeline(fs.createReadStream(file, { highWaterMark: 1 << 20 }), m.transform, new NullSink());
  return m.result();
}

class NullSink extends Writable {
  override _write(_c: unknown, _e: BufferEncoding, done: () => void) {
    done();
  }
}

function openTemp(target: string): { tmp: string; sink: () => Writable } {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.partial`);
  // Dumps hold everything the agents stored (webhook secrets included): owner-only, like pg_dump's own advice.
  return { tmp, sink: () => fs.createWriteStream(tmp, { mode: 0o600, flags: 'wx' }) };
}

/** Makes the finished temp file the target: no-clobber with link() unless --force, then rename(). */
function publish(tmp: string, target: string, force: boolean): void {
  const fd = fs.openSync(tmp, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  if (force) fs.renameSync(tmp, target);
  else {
    try {
      fs.linkSync(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RefusedError(`${target} already exists`, 'pass --force to replace it');
      throw err;
    }
    fs.unlinkSync(tmp);
  }
}

/**
 * Writes a backup atomically: to a temporary file beside the target, renamed only on success.
 * On failure or interruption the temporary file is removed and no child is left running.
 */
export async function backup(db: Database, config: Config, opts: BackupOptions): Promise<BackupResult> {
  const started = process.hrtime.bigint();
  const file = path.resolve(opts.file);
  const format = resolveBackupFormat(file, opts.format);
  if (opts.schemaOnly && opts.dataOnly) throw new UsageError('use only one of --schema-only and --data-only');
  if (fs.existsSync(file)) {
    if (fs.statSync(file).isDirectory()) throw new UsageError(`${opts.file} is a directory; give a file name`);
    if (!opts.force) throw new RefusedError(`${opts.file} already exists`, 'pass --force to replace it');
  }
  if (!fs.existsSync(path.dirname(file))) throw new UsageError(`directory ${path.dirname(file)} does not exist`);
  if (db.kind === 'embedded' && format === 'custom') {
    throw new UsageError('the embedded database backs up to plain SQL only', 'name the file .sql or .sql.gz');
  }
  if (db.kind === 'postgres') await checkPgDump(config, db);

  const args = dumpArgs({ format: format === 'custom' ? 'custom' : 'plain', schema: config.schema, schemaOnly: opts.schemaOnly, dataOnly: opts.dataOnly });
  const { tmp, sink } = openTemp(file);
  const interrupts = trapInterrupts();
  try {
    let written: { bytes: number; sha256: string };
    if (db.kind === 'embedded') {
      const bytes = await dumpEmbedded(db.pglite!, args);
      if (interrupts.signal.aborted) throw abortError(interrupts.signal);
      written = await writeStream(Readable.from([Buffer.from(bytes)]), format === 'gzip', sink, interrupts, opts.onProgress);
    } else {
      written = await dumpToFile(config, args, format, tmp, interrupts, opts.onProgress);
    }
    if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    publish(tmp, file, opts.force === true);
    return { file, format, ...written, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    throw err;
  } finally {
    interrupts.dispose();
  }
}

async function writeStream(source: Readable, gzip: boolean, sink: () => Writable, interrupts: Interrupts, onProgress?: (bytes: number) => void) {
  const m = meter(onProgress);
  const stages: NodeJS.ReadWriteStream[] = gzip ? [zlib.createGzip({ level: 6 }), m.transform] : [m.transform];
  await pipeline([source, ...stages, sink()], { signal: interrupts.signal });
  return m.result();
}

/**
 * pg_dump writes the file itself: through a pipe into node the same bytes took twice as long
 * (bench/backup.bench.ts). A plain (or gzip) dump is written front to back, so it is hashed while
 * it grows; a custom archive is rewritten at the end (its table of contents), so it is hashed after.
 */
async function dumpToFile(config: Config, args: string[], format: BackupFormat, tmp: string, interrupts: Interrupts, onProgress?: (bytes: number) => void) {
  const extra = format === 'gzip' ? ['--compress=6'] : [];
  // Created here, owner-only, before pg_dump opens it (pg_dump keeps an existing file's mode).
  fs.closeSync(fs.openSync(tmp, 'wx', 0o600));
  const dump = startTool({ name: 'pg_dump', command: config.tools.pgDump, args: [...args, ...extra, `--file=${tmp}`], env: toolEnv(config, connectionOf(config)) }, { redact: createRedactor(config.secrets), signal: interrupts.signal, missingHint: MISSING_HINT });
  if (format === 'custom') {
    const timer = onProgress ? setInterval(() => fs.stat(tmp, (e, st) => !e && onProgress(st.size)), 250) : undefined;
    try {
      await dump.done;
    } finally {
      clearInterval(timer);
    }
    return hashFile(tmp);
  }
  const hashed = await hashWhileWritten(tmp, dump.done, onProgress);
  await dump.done;
  return hashed;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Hashes a file another process is appending to, until that process has finished. */
async function hashWhileWritten(file: string, finished: Promise<void>, onProgress?: (bytes: number) => void) {
  const hash = createHash('sha256');
  let ended = false;
  finished.then(() => (ended = true), () => (ended = true));
  const fh = await fs.promises.open(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  try {
    for (;;) {
      const wasEnded = ended; // read to the end once more after the writer is gone
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
        onProgress?.(pos);
      } else if (wasEnded) break;
      else await sleep(20);
    }
  } finally {
    await fh.close();
  }
  return { bytes: pos, sha256: hash.digest('hex') };
}

// ---------------------------------------------------------------------------------------------
// Restore

export interface RestoreOptions {
  /** Replace the Bindu tables the database holds, in the same transaction. */
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
  schema: string;
  /** Bindu tables the target holds now. */
  existingTables: string[];
  /** Tasks it holds now (null: no tasks table). */
  tasks: number | null;
}

export interface RestoreResult {
  file: string;
  format: BackupFormat;
  seconds: number;
  /** Tasks after the restore. */
  tasks: number | null;
}

/** The format of a backup file from its first bytes. */
export function sniffFormat(head: Buffer): BackupFormat {
  if (head.subarray(0, 5).toString('latin1') === 'PGDMP') return 'custom';
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  return 'plain';
}

/** Everything restore checks before changing anything: the file, the tools, the target's contents. */
export async function planRestore(db: Database, config: Config, fileArg: string, opts: RestoreOptions): Promise<RestorePlan> {
  const file = path.resolve(fileArg);
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(8);
      head = head.subarray(0, fs.readSync(fd, head, 0, 8, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new UsageError(`cannot read ${fileArg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (head.length === 0) throw new OperationError(`${fileArg} is empty`, 'nothing was restored; use an intact backup file');
  const format = sniffFormat(head);
  const existingTables = await binduTablesIn(db.knex, config.schema);
  if (existingTables.length > 0 && !opts.clean) {
    throw new RefusedError(
      `${db.label} already holds Bindu tables in schema "${config.schema}" (${existingTables.join(', ')})`,
      'restore into an empty database, or pass --clean to replace them (in the same transaction)',
    );
  }
  if (format === 'custom') await toolVersion(config, 'pg_restore', config.tools.pgRestore);
  if (db.kind === 'postgres') await toolVersion(config, 'psql', config.tools.psql);
  return { file, format, target: db.label, database: await currentDatabase(db.knex), schema: config.schema, existingTables, tasks: await countTasks(db.knex, config.schema) };
}

/**
 * Restores in one transaction that stops at the first error. The script we feed carries its own
 * BEGIN, and COMMIT only once the whole input has been read and checked (and pg_restore, for a
 * custom archive, has exited 0): a truncated or corrupt file can never be half-committed.
 */
export async function restore(db: Database, config: Config, plan: RestorePlan, opts: RestoreOptions): Promise<RestoreResult> {
  const started = process.hrtime.bigint();
  const interrupts = trapInterrupts();
  const redact = createRedactor(config.secrets);
  const producers: RunningTool[] = [];
  try {
    // The plain script, from the file or from pg_restore reading the archive.
    let source: AsyncIterable<Buffer>;
    let producerDone: Promise<void> = Promise.resolve();
    if (plan.format === 'custom') {
      const tool = startTool({ name: 'pg_restore', command: config.tools.pgRestore, ...planPgRestoreToScript(plan.file), env: toolEnv(config) }, { stdout: 'pipe', redact, signal: interrupts.signal, missingHint: MISSING_HINT });
      producers.push(tool);
      source = tool.stdout!;
      producerDone = tool.done;
    } else {
      const read = fs.createReadStream(plan.file);
      source = plan.format === 'gzip' ? read.pipe(zlib.createGunzip()).on('error', () => undefined) : read;
      if (plan.format === 'gzip') read.on('error', (e) => (source as Readable).destroy(e));
    }
    const targetMajor = serverMajor(await serverVersionNum(db.knex));
    const preamble = opts.clean ? `DROP SCHEMA IF EXISTS ${quoteIdent(plan.schema)} CASCADE;\nCREATE SCHEMA ${quoteIdent(plan.schema)};\n` : '';
    let fed = 0;
    const script = async function* (): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of prepareScript(source, { targetMajor })) {
          fed += chunk.length;
          opts.onProgress?.(fed);
          yield chunk;
        }
      } catch (err) {
        // pg_restore failing ends its output early; its own error says why.
        throw (await producerDone.then(() => undefined, (e: unknown) => e)) ?? err;
      }
      await producerDone;
      if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    };

    if (db.kind === 'embedded') {
      await restoreEmbedded(db.pglite!, plan.schema, preamble, splitScript(script()));
    } else {
      await restorePsql(config, preamble, script(), interrupts, redact);
    }
    return { file: plan.file, format: plan.format, seconds: Number(process.hrtime.bigint() - started) / 1e9, tasks: await countTasks(db.knex, plan.schema) };
  } catch (err) {
    producers.forEach((p) => p.kill());
    if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    throw err;
  } finally {
    interrupts.dispose();
  }
}

async function restorePsql(config: Config, preamble: string, script: AsyncIterable<Buffer>, interrupts: Interrupts, redact: (t: string) => string): Promise<void> {
  const plan = planPsqlRestore(connectionOf(config), config.connectTimeoutSeconds);
  const psql = startTool({ name: 'psql', command: config.tools.psql, args: plan.args, env: { ...config.toolEnv, ...plan.env } }, { stdin: 'pipe', redact, signal: interrupts.signal, missingHint: MISSING_HINT });
  const full = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.from(`BEGIN;\n${preamble}`);
    yield* script;
    // Only reached when the whole input was read, complete, and its producer succeeded.
    yield Buffer.from('\nCOMMIT;\n');
  };
  try {
    await pipeline(Readable.from(full()), psql.stdin!);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') {
      await psql.done; // psql stopped reading: its exit status and stderr say why
    }
    // Our input failed: psql never saw COMMIT. Kill it so its transaction rolls back now.
    psql.kill();
    await psql.done.catch(() => undefined);
    throw err;
  }
  await psql.done;
}
