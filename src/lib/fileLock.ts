import fs from 'node:fs';
import os from 'node:os';

/** Who holds a lock file. */
export interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export class LockHeldError extends Error {
  constructor(readonly path: string, readonly owner: LockOwner) {
    super(`locked by pid ${owner.pid} on ${owner.host} since ${owner.since}`);
  }
}

/** Whether a process, named by pid and host, still runs; one on another host is assumed to. */
export function isAlive(owner: Pick<LockOwner, 'pid' | 'host'>): boolean {
  if (owner.host !== os.hostname()) return true; // cannot tell: assume it is
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readOwner(file: string): LockOwner | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockOwner;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Half-written by a process killed between create and write: treat as stale.
    return { pid: -1, host: os.hostname(), since: 'unknown' };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Takes an exclusive lock file holding our pid, for resources with no locking of their own
 * (PGlite's data directory). A lock whose process is gone is taken over, so a SIGKILL never
 * leaves a lock that needs clearing by hand. Returns the release function.
 */
export async function acquireFileLock(file: string): Promise<() => void> {
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (readOwner(file)?.pid === me.pid) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(file);
    if (!owner) continue;
    if (isAlive(owner)) throw new LockHeldError(file, owner);
    await takeOverStale(file, owner);
  }
  throw new Error(`could not take the lock ${file}`);
}

/** Removes a stale lock, guarded so two processes cleaning up at once never remove a fresh one. */
async function takeOverStale(file: string, stale: LockOwner): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    fs.mkdirSync(guard);
  } catch {
    // Another process is taking over; a guard older than 5 s was left by a killed process.
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > 5000) fs.rmSync(guard, { recursive: true, force: true });
    await sleep(20);
    return;
  }
  try {
    if (readOwner(file)?.pid === stale.pid) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { recursive: true, force: true });
  }
}
