import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { acquireFileLock } from './fileLock.js';

/** An append-only JSON Lines file that is on disk, whole, each time `append` resolves. */
export interface JsonlArchive {
  readonly file: string;
  readonly gzip: boolean;
  /** Appends the lines (one JSON document each) and fsyncs the file; on failure the file is as it was. */
  append(lines: string[]): Promise<void>;
  close(): Promise<void>;
}

const isGzip = (file: string) => /\.gz$/i.test(file);

/**
 * Why an archive could not be written at `file`, or null: its directory missing or read-only,
 * or something there that is not an archive of its kind. A FIFO would hang the run and a
 * device swallow the rows; a link planted where the archive goes (to /etc/passwd, say) would
 * have task histories appended to whatever it points at.
 */
export function archiveProblem(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    return `cannot write into ${dir}: ${(err as NodeJS.ErrnoException).code}`;
  }
  if (!fs.existsSync(file)) return null;
  const stat = fs.statSync(file);
  if (stat.isDirectory()) return `${file} is a directory`;
  if (!stat.isFile()) return `${file} is not a regular file`;
  if (stat.size === 0) return null;
  const head = Buffer.alloc(2);
  try {
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, head, 0, 2, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return `cannot read ${file}: ${(err as NodeJS.ErrnoException).code}`;
  }
  const gzip = isGzip(file);
  const ours = gzip ? head[0] === 0x1f && head[1] === 0x8b : head[0] === 0x7b; // gzip's magic, or '{'
  return ours ? null : `${file} holds something other than a ${gzip ? 'gzip-compressed ' : ''}JSON Lines archive; not appending to it`;
}

/** Lines as buffers of a few MiB: a batch can hold more text than one string can (V8's limit is 512 MiB). */
function* chunksOf(lines: string[], size = 4 << 20): Generator<Buffer> {
  let parts: string[] = [];
  let length = 0;
  const flush = function* () {
    if (parts.length) yield Buffer.from(parts.join(''));
    parts = [];
    length = 0;
  };
  for (const line of lines) {
    if (line.length >= size) {
      yield* flush();
      yield Buffer.from(line);
      yield Buffer.from('\n');
      continue;
    }
    parts.push(line, '\n');
    length += line.length + 1;
    if (length >= size) yield* flush();
  }
  yield* flush();
}

/**
 * Opens (or creates) an archive for appending; `.gz` gzip-compresses it. Every append of a
 * gzip archive is a complete gzip member, and gzip readers (zcat, gunzip, node's zlib) read
 * concatenated members as one stream: the file is readable while it grows, after an
 * interruption, and when a later run appends to it. A new file's directory entry is synced
 * too, so the file itself survives a crash and not only its contents.
 */
export async function openJsonlArchive(file: string): Promise<JsonlArchive> {
  // One run appends at a time: a second run's writes would land inside the first's gzip
  // members, and a failed append's cut-off could take the other run's lines with it.
  const unlock = await acquireFileLock(`${file}.lock`);
  const existed = fs.existsSync(file);
  const compressed = isGzip(file);
  const handle = await fs.promises.open(file, 'a+', 0o600).catch((err: unknown) => {
    unlock();
    throw err;
  });
  const marker = `${file}.appending`;
  const dir = path.dirname(path.resolve(file));
  try {
    await cutKilledAppend(handle, marker); // also when the archive was removed since: the marker would block every append
    if (existed && !compressed) await cutPartLine(handle);
  } catch (err) {
    await handle.close();
    unlock();
    throw err;
  }
  if (!existed) await syncDirectory(dir);
  return {
    file,
    gzip: compressed,
    append: async (lines) => {
      if (lines.length === 0) return;
      const { size } = await handle.stat();
      // Where this append starts, for the next run to cut back to if this one is killed part-way
      // (created new, so a link planted in its place is never written through). On disk before
      // the batch is: after a power loss, part of a batch is never there without its marker.
      await writeSynced(marker, String(size), dir);
      try {
        if (compressed) {
          // One member, one write: a reader of the growing file meets whole members.
          const member: Buffer[] = [];
          await pipeline(chunksOf(lines), zlib.createGzip(), async (gzipped: AsyncIterable<Buffer>) => {
            for await (const chunk of gzipped) member.push(chunk);
          });
          await handle.appendFile(Buffer.concat(member));
        } else {
          // A full disk takes a write part-way and says so only in the count written: appendFile
          // writes each buffer to its end, so that its next write reports the error instead.
          for (const chunk of chunksOf(lines)) await handle.appendFile(chunk);
        }
        await handle.sync();
      } catch (err) {
        // Cut off the part-written lines: the next run appends after whole ones (or, if even
        // that fails, cuts them itself: the marker stays).
        await handle.truncate(size).then(() => fs.promises.rm(marker, { force: true }), () => undefined);
        throw err;
      }
      // Gone from the disk before the batch's delete commits: a marker that outlived a power loss
      // would cut off a batch whose tasks are no longer in the database.
      await fs.promises.rm(marker, { force: true });
      await syncDirectory(dir);
    },
    close: async () => {
      try {
        await handle.close();
      } finally {
        unlock();
      }
    },
  };
}

/**
 * Cuts off what a run killed while appending wrote of its batch (its marker names where the batch
 * began): a gzip member cut short hides every later member from zcat and gunzip, and whole lines
 * of a batch that was never deleted would be archived twice. The batch's tasks are still in the
 * database (a delete waits for its append), so the next batch that takes them archives them.
 * The marker is read under the archive's lock: its writer is gone.
 */
async function cutKilledAppend(handle: fs.promises.FileHandle, marker: string): Promise<void> {
  let text: string;
  try {
    text = await fs.promises.readFile(marker, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const start = Number(text);
  if (Number.isSafeInteger(start) && start >= 0 && start < (await handle.stat()).size) await handle.truncate(start);
  await fs.promises.rm(marker, { force: true });
}

/**
 * Mends a last line without its newline. What an append killed part-way (or a lost power) left
 * is cut off: its batch was never deleted (a delete waits for its append), so nothing is lost, and
 * a line-by-line reader (jq) would otherwise stop there, before every later run's lines. A whole
 * JSON document there (another tool's file, not ending in a newline) is kept and ended instead.
 */
async function cutPartLine(handle: fs.promises.FileHandle): Promise<void> {
  const size = (await handle.stat()).size;
  let end = size;
  const chunk = Buffer.alloc(1 << 20);
  for (let first = true; end > 0; first = false) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (first && newline === bytesRead - 1) return;
    if (newline >= 0) return endOrCut(handle, start + newline + 1, size);
    end = start;
  }
  return endOrCut(handle, 0, size);
}

async function endOrCut(handle: fs.promises.FileHandle, lineStart: number, size: number): Promise<void> {
  const last = Buffer.alloc(size - lineStart);
  await handle.read(last, 0, last.length, lineStart);
  let whole = false;
  try {
    // A prefix of a JSON object is never itself one: only a complete document parses.
    whole = last.at(-1) === 0x7d && typeof JSON.parse(last.toString('utf8')) === 'object';
  } catch {
    whole = false;
  }
  if (whole) await handle.write('\n');
  else await handle.truncate(lineStart);
}

/** Creates a new file (never through an existing one) holding `text`, synced with its directory entry. */
async function writeSynced(file: string, text: string, dir: string): Promise<void> {
  const handle = await fs.promises.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await syncDirectory(dir);
}

async function syncDirectory(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
