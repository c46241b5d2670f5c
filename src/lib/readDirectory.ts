import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/**
 * The entries of a directory the user configured (by flag or variable), sorted. A path that
 * is missing, a file, or unreadable is a configuration error (exit 2) saying which and how to
 * point elsewhere: `what` names it ("migrations directory"), `hint` the flag or variable.
 */
export function readDirectory(dir: string, what: string, hint: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : code === 'EACCES' || code === 'EPERM' ? 'cannot be read (permission denied)' : `cannot be read (${code ?? (err as Error).message})`;
    throw new ConfigError(`${what} ${dir} ${why}`, hint);
  }
}

/** The bytes of the files under a directory (0 if it does not exist); a file removed meanwhile counts nothing. */
export function bytesUnder(dir: string): number {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true, recursive: true });
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) if (e.isFile()) n += fs.statSync(path.join(e.parentPath, e.name), { throwIfNoEntry: false })?.size ?? 0;
  return n;
}
