import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from './fileLock.js';
import { atExit } from './process.js';

// Temporary files and directories named for the process that made them: one killed outright
// (kill -9: it could not clean up) leaves them, and the next run removes them.

/** `<prefix><host>-<pid>-<random><suffix>`: host and pid say whose it is. */
export function ownedName(prefix: string, suffix = ''): string {
  return `${prefix}${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}${suffix}`;
}

/** A private directory (0700) in the system's temporary directory, named by ownedName; those that killed processes left are removed first. */
export function makeOwnedTempDir(prefix: string): string {
  removeAbandoned(os.tmpdir(), prefix);
  const dir = path.join(os.tmpdir(), ownedName(prefix));
  fs.mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/**
 * A scratch directory for the length of a command: removed by `remove`, or at a forced exit
 * (Ctrl-C twice); one that a kill -9 left is removed by the next run.
 */
export function scratchDir(prefix: string): { dir: string; remove: () => void } {
  const dir = makeOwnedTempDir(prefix);
  const rm = () => fs.rmSync(dir, { recursive: true, force: true });
  const forget = atExit(rm);
  return {
    dir,
    remove: () => {
      rm();
      forget();
    },
  };
}

/** Removes what ownedName named in `dir` for processes of this host that are gone, if it is this user's. */
export function removeAbandoned(dir: string, prefix: string, suffix = ''): void {
  const mine = `${prefix}${os.hostname()}-`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return; // housekeeping only: a directory we may write but not list is no reason to fail
  }
  for (const name of names) {
    if (!name.startsWith(mine) || !name.endsWith(suffix)) continue;
    const pid = Number(/^(\d+)-[0-9a-f]{8}$/.exec(name.slice(mine.length, name.length - suffix.length))?.[1]);
    if (!pid || isAlive({ pid, host: os.hostname() })) continue;
    const file = path.join(dir, name);
    try {
      // Another user's is theirs to remove, whatever a shared directory would let us do.
      if (fs.lstatSync(file).uid === process.getuid?.()) fs.rmSync(file, { recursive: true, force: true });
    } catch {
      // gone meanwhile, or not ours to remove
    }
  }
}
