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

/** The lock file's text, and its owner when the text is one (a torn or foreign text is not). */
function readLock(file: string): { text: string; owner?: LockOwner; mtimeMs: number } | undefined {
  let text: string;
  let mtimeMs: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    // A pid of 0 or below would make process.kill signal a whole group: never an owner.
    if (Number.isSafeInteger(owner.pid) && owner.pid > 0 && typeof owner.host === 'string') return { text, owner, mtimeMs };
  } catch {
    // torn
  }
  return { text, mtimeMs };
}

/** Lock files this process holds: a lock naming our pid that is not one of them was left by an earlier process of that pid (a container restarted). */
const held = new Set<string>();

/** A lock whose text is not whole yet is being written, for a moment; one older was torn by a crash (or a full disk). */
const TORN_AFTER_MS = 2000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A takeover guard older than this was left by a killed process. */
const GUARD_STALE_MS = 5000;

/**
 * Takes an exclusive lock file holding our pid, for resources with no locking of their own
 * (PGlite's data directory). A lock whose process is gone is taken over, so a SIGKILL never
 * leaves a lock that needs clearing by hand. Returns the release function.
 */
export async function acquireFileLock(file: string): Promise<() => void> {
  const me: LockOwner = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  // Long enough to outlast a guard left by a process killed mid-takeover.
  const deadline = Date.now() + 2 * GUARD_STALE_MS;
  while (Date.now() < deadline) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      held.add(file);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.delete(file);
        if (readLock(file)?.owner?.pid === me.pid) fs.rmSync(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const lock = readLock(file);
    if (!lock) continue;
    const { owner } = lock;
    if (!owner && Date.now() - lock.mtimeMs < TORN_AFTER_MS) {
      await sleep(25);
      continue;
    }
    const ourPidBefore = owner?.pid === process.pid && owner.host === me.host && !held.has(file);
    if (owner && !ourPidBefore && isAlive(owner)) throw new LockHeldError(file, owner);
    await takeOverStale(file, lock.text);
  }
  throw new Error(`could not take the lock ${file}`);
}

/** Removes a stale lock, guarded so two processes cleaning up at once never remove a fresh one. */
async function takeOverStale(file: string, staleText: string): Promise<void> {
  const guard = `${file}.takeover`;
  try {
    fs.mkdirSync(guard);
  } catch {
    // Another process is taking over, or one was killed doing so.
    const age = Date.now() - (fs.statSync(guard, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > GUARD_STALE_MS) fs.rmSync(guard, { recursive: true, force: true });
    await sleep(20);
    return;
  }
  try {
    if (readLock(file)?.text === staleText) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { recursive: true, force: true });
  }
}
