import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';
import type { Config } from '../config.js';
import type { Database } from '../db/connect.js';
import { dumpEmbedded } from '../db/embedded.js';
import { ConfigError, RefusedError, UsageError } from '../errors.js';
import { type DumpOptions, dumpArgs, serverMajor } from '../lib/pgArgs.js';
import { type Interrupts, type RunningTool, type ToolCommand, abortError, startTool, trapInterrupts } from '../lib/process.js';
import { isAlive } from '../lib/fileLock.js';
import { createRedactor } from '../lib/redact.js';
import { MISSING_HINT, connectionOf, serverVersionNum, toolEnv, toolVersion } from './pgTools.js';

/** gzip's default level: pg_dump's and ours, so both targets make the same trade-off. */
const GZIP_LEVEL = 6;

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
}

/** What a backup will do, checked and decided before anything runs (and all that --dry-run shows). */
export interface BackupPlan {
  /** The target, absolute. */
  file: string;
  format: BackupFormat;
  force: boolean;
  /**
   * PostgreSQL: the pg_dump to run, writing to the file (its env holds the password: redact it to
   * show it). The embedded database: pg_dump's arguments, run in process.
   */
  dump: { kind: 'pg_dump'; tool: ToolCommand } | { kind: 'in-process'; args: string[] };
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

/**
 * pg_dump refuses servers newer than itself, after connecting; say so first, naming both versions.
 * The tool's version and the server's are asked at the same time.
 */
async function checkPgDump(config: Config, signal: AbortSignal): Promise<void> {
  // The server's first: it takes longer.
  const [num, tool] = await Promise.all([serverVersionNum(config, signal), toolVersion(config, 'pg_dump', config.tools.pgDump)]);
  const major = serverMajor(num);
  if (tool.major < major) {
    const serverText = num >= 100000 ? `${Math.floor(num / 10000)}.${num % 10000}` : String(major);
    throw new ConfigError(
      `pg_dump ${tool.text} (${config.tools.pgDump}) is older than the server, PostgreSQL ${serverText}: pg_dump cannot dump a newer server`,
      `install the PostgreSQL ${major} client tools (e.g. apt-get install postgresql-client-${major}) and pass --pg-bin <their bin directory>, or set PG_DUMP`,
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

/**
 * The temporary file beside the target: `.<name>.<host>-<pid>-<random>.partial`. Host and pid say
 * whose it is, so that a backup killed outright (kill -9: it could not clean up) has its file
 * removed by the next backup to the same target (see removeAbandoned).
 */
function openTemp(target: string): { tmp: string; sink: () => Writable } {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}.partial`);
  // Dumps hold everything the agents stored (webhook secrets included): owner-only, like pg_dump's own advice.
  return { tmp, sink: () => fs.createWriteStream(tmp, { mode: 0o600, flags: 'wx' }) };
}

/** Removes the temporary files of earlier backups to this target whose process, on this host, is gone. */
function removeAbandoned(target: string): void {
  const prefix = `.${path.basename(target)}.${os.hostname()}-`;
  let names: string[];
  try {
    names = fs.readdirSync(path.dirname(target));
  } catch {
    return; // housekeeping only: a directory we may write but not list is no reason to fail
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.partial')) continue;
    const pid = Number(/^(\d+)-[0-9a-f]{8}\.partial$/.exec(name.slice(prefix.length))?.[1]);
    if (!pid || isAlive({ pid, host: os.hostname() })) continue;
    fs.rmSync(path.join(path.dirname(target), name), { force: true });
  }
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

/** Checks the request and decides the backup, touching nothing: no file, no connection, no process. */
export function planBackup(config: Config, opts: BackupOptions): BackupPlan {
  const file = path.resolve(opts.file);
  const format = resolveBackupFormat(file, opts.format);
  if (opts.schemaOnly && opts.dataOnly) throw new UsageError('use only one of --schema-only and --data-only');
  if (fs.existsSync(file)) {
    if (fs.statSync(file).isDirectory()) throw new UsageError(`${opts.file} is a directory; give a file name`);
    if (!opts.force) throw new RefusedError(`${opts.file} already exists`, 'pass --force to replace it');
  }
  if (!fs.existsSync(path.dirname(file))) throw new UsageError(`directory ${path.dirname(file)} does not exist`);
  if (config.target.kind === 'embedded' && format === 'custom') {
    throw new UsageError('the embedded database backs up to plain SQL only', 'name the file .sql or .sql.gz');
  }
  const dump: DumpOptions = { format: format === 'custom' ? 'custom' : 'plain', schema: config.schema, schemaOnly: opts.schemaOnly, dataOnly: opts.dataOnly };
  const force = opts.force === true;
  // The embedded database's dump is gzipped here, by writeStream; pg_dump compresses its own.
  if (config.target.kind === 'embedded') return { file, format, force, dump: { kind: 'in-process', args: dumpArgs(dump) } };
  const args = dumpArgs({ ...dump, compress: format === 'gzip' ? GZIP_LEVEL : undefined });
  return { file, format, force, dump: { kind: 'pg_dump', tool: { name: 'pg_dump', command: config.tools.pgDump, args, env: toolEnv(config, connectionOf(config)) } } };
}

/**
 * Writes a backup atomically: to a temporary file beside the target, renamed only on success.
 * On failure or interruption the temporary file is removed and no child is left running.
 * `db`: the open embedded database. A PostgreSQL target needs none: pg_dump connects itself.
 */
export async function backup(config: Config, plan: BackupPlan, db?: Database, onProgress?: (bytes: number) => void): Promise<BackupResult> {
  const started = process.hrtime.bigint();
  const { file, format } = plan;
  removeAbandoned(file);
  const { tmp, sink } = openTemp(file);
  const interrupts = trapInterrupts();
  try {
    let written: { bytes: number; sha256: string };
    if (plan.dump.kind === 'pg_dump') {
      // Before pg_dump, not beside it: on this 2-core machine pg_dump and the server use both
      // cores, and the check running alongside slowed the dump more than it took on its own.
      await checkPgDump(config, interrupts.signal);
      written = await dumpToFile(config, plan.dump.tool, format, tmp, interrupts, onProgress);
    } else {
      if (!db?.pglite) throw new Error('backup of the embedded database needs it open');
      const bytes = await dumpEmbedded(db.pglite, plan.dump.args);
      if (interrupts.signal.aborted) throw abortError(interrupts.signal);
      written = await writeStream(Readable.from([Buffer.from(bytes)]), format === 'gzip', sink, interrupts, onProgress);
    }
    if (interrupts.signal.aborted) throw abortError(interrupts.signal);
    publish(tmp, file, plan.force);
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
  const stages: NodeJS.ReadWriteStream[] = gzip ? [zlib.createGzip({ level: GZIP_LEVEL }), m.transform] : [m.transform];
  await pipeline([source, ...stages, sink()], { signal: interrupts.signal });
  return m.result();
}

/**
 * pg_dump writes the file itself, on a descriptor we opened (through a pipe into node the same
 * bytes took twice as long). Not --file on a file we created: pg_dump would open it with O_TRUNC,
 * and ext4 flushes a file truncated that way, all of it, when it is closed (auto_da_alloc),
 * inside pg_dump's run: 100-160 ms on a 239 MB dump.
 * A plain (or gzip) dump is written front to back, so it is hashed while it grows; a custom
 * archive is rewritten at the end (its table of contents), so it is hashed after.
 */
async function dumpToFile(config: Config, pgDump: ToolCommand, format: BackupFormat, tmp: string, interrupts: Interrupts, onProgress?: (bytes: number) => void) {
  const fd = fs.openSync(tmp, 'wx', 0o600);
  let dump: RunningTool;
  try {
    dump = startTool(pgDump, { stdout: fd, redact: createRedactor(config.secrets), signal: interrupts.signal, missingHint: MISSING_HINT });
  } finally {
    fs.closeSync(fd); // the child has its own copy
  }
  if (format === 'custom') {
    const timer = onProgress ? setInterval(() => fs.stat(tmp, (e, st) => !e && onProgress(st.size)), 250) : undefined;
    try {
      await dump.done;
    } finally {
      clearInterval(timer);
    }
    return hashAndFlush(tmp);
  }
  const written = await hashAndFlush(tmp, dump.done, onProgress);
  await dump.done;
  return written;
}

/** How much is written between two flushes to disk while the dump runs. */
const FLUSH_EVERY = 16 << 20;

/**
 * Hashes a file, and flushes it to disk as it goes, so that the fsync before the rename has
 * little left to write instead of the whole dump at once. With `writer`, the file is still being
 * appended to by another process: it is followed until that process has finished, flushed every
 * FLUSH_EVERY bytes. Once the file is complete, the rest is flushed while the rest is hashed.
 */
async function hashAndFlush(file: string, writer?: Promise<void>, onProgress?: (bytes: number) => void) {
  const hash = createHash('sha256');
  let complete = writer === undefined;
  writer?.then(() => (complete = true), () => (complete = true));
  const fh = await fs.promises.open(file, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let pos = 0;
  let flushedAt = 0;
  let flushedAll = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => (flushing = flushing.then(() => fh.datasync()));
  try {
    for (;;) {
      const wasComplete = complete; // read to the end once more after the writer is gone
      if (wasComplete && !flushedAll) {
        flushedAll = true;
        flush();
      }
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead > 0) {
        hash.update(buf.subarray(0, bytesRead));
        pos += bytesRead;
        onProgress?.(pos);
        if (!flushedAll && pos - flushedAt >= FLUSH_EVERY) {
          flushedAt = pos;
          flush();
        }
      } else if (wasComplete) break;
      // No lag once pg_dump is done, and a sleep left pending then must not hold the process up.
      else await Promise.race([sleep(20, undefined, { ref: false }), writer!.catch(() => undefined)]);
    }
  } finally {
    await flushing.catch(() => undefined); // publish() fsyncs, and reports what fails
    await fh.close();
  }
  return { bytes: pos, sha256: hash.digest('hex') };
}
