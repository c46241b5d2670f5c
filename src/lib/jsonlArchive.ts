import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

const gzip = promisify(zlib.gzip);

/** An append-only JSON Lines file that is on disk, whole, each time `append` resolves. */
export interface JsonlArchive {
  readonly file: string;
  readonly gzip: boolean;
  /** Appends the lines (one JSON document each) and fsyncs the file. */
  append(lines: string[]): Promise<void>;
  close(): Promise<void>;
}

/** Why an archive could not be written at `file` (its directory missing or read-only), or null. */
export function archiveProblem(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    return `cannot write into ${dir}: ${(err as NodeJS.ErrnoException).code}`;
  }
  return fs.existsSync(file) && fs.statSync(file).isDirectory() ? `${file} is a directory` : null;
}

/**
 * Opens (or creates) an archive for appending; `.gz` gzip-compresses it. Every append of a
 * gzip archive is a complete gzip member, and gzip readers (zcat, gunzip, node's zlib) read
 * concatenated members as one stream: the file is readable while it grows, after an
 * interruption, and when a later run appends to it. A new file's directory entry is synced
 * too, so the file itself survives a crash and not only its contents.
 */
export async function openJsonlArchive(file: string): Promise<JsonlArchive> {
  const existed = fs.existsSync(file);
  const handle = await fs.promises.open(file, 'a', 0o600);
  if (!existed) await syncDirectory(path.dirname(path.resolve(file)));
  const compressed = file.endsWith('.gz');
  return {
    file,
    gzip: compressed,
    append: async (lines) => {
      if (lines.length === 0) return;
      const text = `${lines.join('\n')}\n`;
      await handle.write(compressed ? await gzip(text) : Buffer.from(text));
      await handle.sync();
    },
    close: () => handle.close(),
  };
}

async function syncDirectory(dir: string): Promise<void> {
  const d = await fs.promises.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
