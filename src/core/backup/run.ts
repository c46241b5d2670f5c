import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { Config } from '../../config.js';
import { type Unreadable, dumpedTables, existingSchemas, exportSnapshot, rowCounts, unreadableIn, userSchemas } from '../../db/backupCatalog.js';
import type { Database } from '../../db/connect.js';
import { currentRole } from '../../db/layouts/detect.js';
import { dumpEmbedded } from '../../db/embedded.js';
import { serverVersionNumOf, withConnection } from '../../db/pgClient.js';
import type { SqlRunner } from '../../db/sqlRunner.js';
import { ConfigError, OperationError, RefusedError, UsageError } from '../../errors.js';
import { ownedName, removeAbandoned } from '../../lib/leftovers.js';
import { serverMajor } from '../../lib/pgArgs.js';
import { type ToolCommand, abortError, atExit, startTool } from '../../lib/process.js';
import { createRedactor } from '../../lib/redact.js';
import { firstFew, shellLine } from '../../lib/words.js';
import { ident } from '../../lib/sqlIdent.js';
import { MISSING_HINT, connectionOf, toolVersion } from '../pgTools.js';
import { type Manifest, manifestLine } from './manifest.js';
import { type BackupFormat, type BackupPlan, GZIP_LEVEL } from './plan.js';

export interface BackupResult {
  file: string;
  format: BackupFormat;
  /** The schemas the file holds. */
  schemas: string[];
  bytes: number;
  sha256: string;
  seconds: number;
}

/** pg_dump refuses servers newer than itself, after connecting; say so first, naming both versions. */
function checkPgDump(config: Config, tool: { major: number; text: string }, num: number): void {
  const major = serverMajor(num);
  if (tool.major < major) {
    const serverText = num >= 100000 ? `${Math.floor(num / 10000)}.${num % 10000}` : String(major);
    throw new ConfigError(
      `pg_dump ${tool.text} (${config.tools.pgDump}) is older than the server, PostgreSQL ${serverText}: pg_dump cannot dump a newer server`,
      `install the PostgreSQL ${major} client tools (e.g. apt-get install postgresql-client-${major}) and pass --pg-bin <their bin directory>, or set PG_DUMP`,
    );
  }
}

/** The schemas the backup holds, and every table's rows in them: the manifest. */
async function readManifest(sql: SqlRunner, plan: BackupPlan): Promise<Manifest> {
  let schemas = await userSchemas(sql);
  if (plan.schemas.length) {
    const found = await existingSchemas(sql, plan.schemas);
    const missing = plan.schemas.filter((s) => !found.includes(s));
    if (missing.length) throw new UsageError(`no schema named ${missing.map((s) => `"${s}"`).join(', ')} in the database`, 'bindu-db schemas list shows the schemas that hold Bindu tables; names are case-sensitive');
    schemas = plan.schemas;
  }
  const unreadable = await unreadableIn(sql, schemas);
  if (unreadable.length) throw await unreadableError(sql, plan, schemas, unreadable);
  const schemaOnly = plan.dump.kind === 'pg_dump' ? plan.dump.tool.args.includes('--schema-only') : plan.dump.schemaOnly;
  return { schemas, rows: schemaOnly ? {} : await rowCounts(sql, await dumpedTables(sql, schemas)) };
}

/**
 * A role that may not read all of what the backup holds (a managed host's own schemas, an agent's
 * schema of another role): pg_dump would fail at the first of them. Said before anything is
 * written, with the schemas it can read whole.
 */
async function unreadableError(sql: SqlRunner, plan: BackupPlan, schemas: string[], unreadable: Unreadable[]): Promise<OperationError> {
  const role = await currentRole(sql);
  const shown = firstFew(unreadable.map((u) => (u.relation === null ? `schema "${u.schema}" (no USAGE)` : `${u.kind} ${ident(u.schema)}.${ident(u.relation)} (no SELECT)`)));
  const readable = schemas.filter((s) => !unreadable.some((u) => u.schema === s));
  const what = plan.schemas.length ? `a backup of ${plan.schemas.map((s) => `schema "${s}"`).join(', ')}` : 'a backup of the whole database';
  return new OperationError(
    `the role ${role} cannot read all that ${what} holds: ${shown}`,
    `${readable.length ? `back up what it can read with ${shellLine(readable.flatMap((s) => ['--schema', s]))}, or ` : ''}connect as a role that can read everything (the owner)`,
  );
}

/** The temporary file beside the target is `.<name>.<host>-<pid>-<random>.partial` (see ownedName): a killed backup's is removed by the next backup to the same target. */
const partial = (target: string) => `.${path.basename(target)}.`;

/** A file-system error as one line that says what to do, never "please report". */
function fileError(err: unknown, target: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const dir = path.dirname(target);
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new OperationError(`cannot write ${target}: permission denied (${code})`, fs.existsSync(target) ? 'the file belongs to someone else or the directory does not let you replace it: choose another name' : `choose a directory you can write to (${dir} is not)`);
    case 'ENAMETOOLONG':
      return new UsageError(`cannot write ${target}: the file name is too long`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new OperationError(`cannot write ${target}: no space left on the device`, 'nothing was written; free some space or write elsewhere');
    case 'ENOTDIR':
    case 'ENOENT':
      return new UsageError(`cannot write ${target}: ${dir} is not a directory`);
    default:
      return err as Error;
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

/** A backup written into the embedded data directory would replace one of its files (--force) or sit in what it backs up. */
function refuseInsideDataDir(file: string, dataDir: string): void {
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const dir = real(dataDir);
  const into = path.join(real(path.dirname(file)), path.basename(file));
  if (into === dir || into.startsWith(`${dir}${path.sep}`)) {
    throw new RefusedError(`${file} is inside the embedded database it backs up (${dataDir}): nothing was written`, 'write the backup outside the data directory');
  }
}

/**
 * Writes a backup atomically: to a temporary file beside the target, renamed only on success.
 * On failure or interruption the temporary file is removed and no tool's process is left.
 * `db`: the open embedded database. A PostgreSQL target needs none: pg_dump connects itself.
 */
export async function backup(config: Config, plan: BackupPlan, signal: AbortSignal, db?: Database, onProgress?: (bytes: number) => void): Promise<BackupResult> {
  const started = process.hrtime.bigint();
  const { file, format } = plan;
  if (config.target.kind === 'embedded') refuseInsideDataDir(file, config.target.dataDir);
  removeAbandoned(path.dirname(file), partial(file), '.partial');
  const tmp = path.join(path.dirname(file), ownedName(partial(file), '.partial'));
  // Removed on every path: here when the backup ends, by the CLI if the process must exit first.
  const forget = atExit(() => fs.rmSync(tmp, { force: true }));
  try {
    let fd: number;
    try {
      // Dumps hold everything the agents stored (webhook secrets included): owner-only.
      fd = fs.openSync(tmp, 'wx', 0o600);
    } catch (err) {
      throw fileError(err, file);
    }
    let written: { bytes: number; sha256: string; schemas: string[] };
    try {
      written = plan.dump.kind === 'pg_dump' ? await dumpWithPgDump(config, plan, plan.dump.tool, fd, tmp, signal, onProgress) : await dumpInProcess(plan, db, fd, signal, onProgress);
    } finally {
      fs.closeSync(fd);
    }
    if (signal.aborted) throw abortError(signal, 'no backup file was written');
    try {
      publish(tmp, file, plan.force);
    } catch (err) {
      throw err instanceof RefusedError ? err : fileError(err, file);
    }
    return { file, format, ...written, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  } catch (err) {
    if (signal.aborted) throw abortError(signal, 'no backup file was written');
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
    forget();
  }
}

/** The embedded database: dumped in process, streamed into the file (gzipped here when asked). */
async function dumpInProcess(plan: BackupPlan, db: Database | undefined, fd: number, signal: AbortSignal, onProgress?: (bytes: number) => void) {
  if (plan.dump.kind !== 'in-process' || !db?.pglite) throw new Error('backup of the embedded database needs it open');
  const manifest = await readManifest(db.sql, plan);
  const { args, schemaOnly, dataOnly } = plan.dump;
  const source = Readable.from(
    (async function* () {
      yield* dumpEmbedded(db.pglite!, { args, schemas: manifest.schemas, schemaOnly, dataOnly, signal });
      yield Buffer.from(manifestLine(manifest));
    })(),
  );
  const hash = createHash('sha256');
  let bytes = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes);
      done(null, chunk);
    },
  });
  const sink = descriptorSink(fd);
  const stages: NodeJS.ReadWriteStream[] = plan.format === 'gzip' ? [zlib.createGzip({ level: GZIP_LEVEL }), meter] : [meter];
  await pipeline([source, ...stages, sink], { signal });
  return { bytes, sha256: hash.digest('hex'), schemas: manifest.schemas };
}

const writeFd = promisify(fs.write);

/**
 * A stream onto a descriptor that backup() owns and closes. Not fs.createWriteStream: destroyed
 * (pipeline destroys every stream on an interrupt) it closes the descriptor even with
 * autoClose off, and the second close, ours, then hits whatever file was opened under that number
 * since. Destroyed, it calls back only once its write in flight has ended, so that none lands
 * after the descriptor is closed.
 */
function descriptorSink(fd: number): Writable {
  let inFlight: Promise<unknown> = Promise.resolve();
  const writeAll = async (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; ) at += (await writeFd(fd, chunk, at, chunk.length - at)).bytesWritten;
  };
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const written = writeAll(chunk);
      inFlight = written.catch(() => undefined);
      written.then(() => done(), done);
    },
    destroy(err, done) {
      void inFlight.then(() => done(err));
    },
  });
}

/**
 * pg_dump writes the file itself, on a descriptor we opened (through a pipe into node the same
 * bytes took twice as long). Not --file on a file we created: pg_dump would open it with O_TRUNC,
 * and ext4 flushes a file truncated that way, all of it, when it is closed (auto_da_alloc),
 * inside pg_dump's run. The rows are counted while it runs, in the snapshot it dumps
 * (--snapshot), so the manifest appended after its last byte describes exactly what the file holds.
 * A plain (or gzip) dump is written front to back, so it is hashed while it grows; a custom
 * archive is rewritten at the end (its table of contents), so it is hashed after.
 */
async function dumpWithPgDump(config: Config, plan: BackupPlan, pgDump: ToolCommand, fd: number, tmp: string, signal: AbortSignal, onProgress?: (bytes: number) => void) {
  // Asked while we connect, and known before pg_dump starts: beside the dump, on a 2-core machine, the check slowed it more than it took.
  const tool = toolVersion(config, 'pg_dump', config.tools.pgDump);
  tool.catch(() => undefined); // reported below, unless connecting fails first
  const c = connectionOf(config);
  return withConnection(c, config.connectTimeoutSeconds, async (sql) => {
    checkPgDump(config, await tool, await serverVersionNumOf(sql));
    const snapshot = await exportSnapshot(sql);
    const dump = startTool({ ...pgDump, args: [...pgDump.args, `--snapshot=${snapshot}`] }, { stdout: fd, redact: createRedactor(config.secrets), signal, missingHint: MISSING_HINT });
    const counted = readManifest(sql, plan);
    counted.catch(() => dump.kill()); // a schema that does not exist: pg_dump fails too, but our message is the clearer one
    // The file is complete once pg_dump is done and the manifest is appended (gzip: a member of its own).
    const written = (async () => {
      // Whichever fails first, the counting's error explains more (a schema that is not there).
      const [manifest] = await Promise.all([counted, dump.done.catch(async (err: unknown) => (await counted, Promise.reject(err)))]);
      const line = manifestLine(manifest);
      fs.appendFileSync(tmp, plan.format === 'gzip' ? zlib.gzipSync(line, { level: GZIP_LEVEL }) : plan.format === 'custom' ? `\n${line}` : line);
      return manifest;
    })();
    written.catch(() => undefined);
    let hashed: { bytes: number; sha256: string };
    if (plan.format === 'custom') {
      const timer = onProgress ? setInterval(() => fs.stat(tmp, (e, st) => !e && onProgress(st.size)), 250) : undefined;
      try {
        await written;
      } finally {
        clearInterval(timer);
      }
      hashed = await hashAndFlush(tmp);
    } else hashed = await hashAndFlush(tmp, written.then(() => undefined), onProgress);
    const manifest = await written;
    await sql.query('commit');
    return { ...hashed, schemas: manifest.schemas };
  });
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
