import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { EMBEDDED_LOCK } from '../../src/db/embeddedTemplate.js';
import { acquireFileLock } from '../../src/lib/fileLock.js';
import { runCli, startCli, until } from '../helpers/cli.js';

// The embedded data directory's lock is inside it: two containers mounting one volume, or two
// mounts of it on one machine, meet the same lock. A lock beside the directory let both open it,
// and two writers corrupted its indexes. A lock nothing holds any more is taken over.

const made = async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'emb-lock-')), 'db');
  expect((await runCli(['migrate', 'up'], { env: { BINDU_DB_DATA_DIR: dir } })).code).toBe(0);
  return dir;
};
const status = (dir: string, uid?: number) => runCli(['migrate', 'status', '--json'], { env: { BINDU_DB_DATA_DIR: dir }, uid, cwd: os.tmpdir() });

const bindable = (() => {
  if (process.getuid?.() !== 0) return false;
  const [a, b] = [fs.mkdtempSync(path.join(os.tmpdir(), 'bind-')), fs.mkdtempSync(path.join(os.tmpdir(), 'bind-'))];
  try {
    execFileSync('mount', ['--bind', a, b], { stdio: 'ignore' });
    execFileSync('umount', [b], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

(bindable ? test : test.skip)('a second mount of a data directory in use (a volume two containers share) is refused, not opened twice', async () => {
  const dir = await made();
  const second = path.join(path.dirname(dir), 'second-mount');
  fs.mkdirSync(second);
  execFileSync('mount', ['--bind', dir, second]);
  try {
    const release = await acquireFileLock(path.join(dir, EMBEDDED_LOCK)); // held, as a running bindu-db does
    const r = await status(second);
    release();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`is in use by another bindu-db process \\(pid ${process.pid}\\)`));
    expect((await status(second)).code).toBe(0);
  } finally {
    execFileSync('umount', ['-l', second]);
  }
});

test.each([
  ['a killed process', JSON.stringify({ pid: 999999, host: os.hostname(), since: 'then' })],
  ['a process killed between making and writing it (empty)', ''],
  ['a torn text', '{"pid": 12'],
  ['a pid of -1, which would signal every process', JSON.stringify({ pid: -1, host: os.hostname(), since: 'then' })],
])('a lock left by %s is taken over', async (_what, text) => {
  const dir = await made();
  const lock = path.join(dir, EMBEDDED_LOCK);
  fs.writeFileSync(lock, text);
  fs.utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000)); // not one being written this moment
  const r = await status(dir);
  expect(r.stderr).not.toMatch(/in use/);
  expect(r.code).toBe(0);
  expect(fs.existsSync(lock)).toBe(false); // released at the end
});

test('a lock of another host cannot be checked: the error names it, when, and the file to remove once nothing runs there', async () => {
  const dir = await made();
  const lock = path.join(dir, EMBEDDED_LOCK);
  fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: 'container-4f2a', since: '2026-12-01T10:00:00.000Z' }));
  const r = await status(dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: the embedded database .*db is in use by bindu-db pid 1 on host container-4f2a since 2026-12-01T10:00:00.000Z$/m);
  expect(r.stderr).toContain(`remove ${fs.realpathSync(lock)}`);
  fs.rmSync(lock);
  expect((await status(dir)).code).toBe(0);
});

(process.getuid?.() === 0 ? test : test.skip)("a data directory this user may write, in a parent it may not (a volume's mount point), opens", async () => {
  const dir = await made();
  const nobody = 65534;
  execFileSync('chown', ['-R', `${nobody}:${nobody}`, dir]);
  fs.chmodSync(path.dirname(dir), 0o755);
  const r = await status(dir, nobody);
  expect(r.stderr).not.toMatch(/not writable/);
  expect(r.code).toBe(0);
});

test("an empty volume's root, which holds lost+found, is filled around it", async () => {
  const volume = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-volume-'));
  fs.mkdirSync(path.join(volume, 'lost+found'));
  const r = await runCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: volume }, cwd: os.tmpdir() });
  expect(r.stderr).not.toMatch(/not an embedded database/);
  expect(r.code).toBe(0);
  expect(fs.existsSync(path.join(volume, 'PG_VERSION'))).toBe(true);
  expect(fs.statSync(path.join(volume, 'lost+found')).isDirectory()).toBe(true);
});

test('migrate up waits (--lock-timeout) for another process to let go of the directory, as on PostgreSQL; past it, the usual error', async () => {
  const dir = await made();
  const release = await acquireFileLock(path.join(dir, EMBEDDED_LOCK));
  const waiting = startCli(['migrate', 'up', '--json'], { env: { BINDU_DB_DATA_DIR: dir } });
  await until('it to start', () => waiting.stderr.includes('using the embedded database'), { stop: waiting.exited });
  const timedOut = await runCli(['migrate', 'up', '--lock-timeout', '1'], { env: { BINDU_DB_DATA_DIR: dir } });
  expect(timedOut.code).toBe(1);
  expect(timedOut.stderr).toMatch(/is in use by another bindu-db process/);
  release();
  const done = await waiting.exited;
  expect(waiting.stderr).not.toMatch(/error/);
  expect(done.code).toBe(0);
  expect(JSON.parse(waiting.stdout).applied).toEqual([]);
});

test('a stale lock whose takeover guard a killed process left behind is still taken over, once the guard is old', async () => {
  const dir = await made();
  const lock = path.join(dir, EMBEDDED_LOCK);
  fs.writeFileSync(lock, JSON.stringify({ pid: 999999, host: os.hostname(), since: 'then' }));
  fs.mkdirSync(`${lock}.takeover`);
  fs.utimesSync(`${lock}.takeover`, new Date(Date.now() - 2000), new Date(Date.now() - 2000)); // killed 2 s ago: stale in 3 s
  const r = await status(dir);
  expect(r.stderr).not.toMatch(/could not take the lock|please report/);
  expect(r.code).toBe(0);
  expect(fs.existsSync(`${lock}.takeover`)).toBe(false);
});

test('a directory where the lock file goes, or a live process that is not bindu-db named in it: one line saying what to remove', async () => {
  const dir = await made();
  const lock = path.join(dir, EMBEDDED_LOCK);
  fs.mkdirSync(lock);
  const r = await status(dir);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: .*\.bindu-db\.lock is a directory, not bindu-db's lock file$/m);
  expect(r.stderr).not.toMatch(/EISDIR|please report/);
  fs.rmdirSync(lock);
  // pid 1 runs on every machine and is not this bindu-db: the lock outlived a restart.
  fs.writeFileSync(lock, JSON.stringify({ pid: 1, host: os.hostname(), since: 'then' }));
  const reused = await status(dir);
  expect(reused.code).toBe(1);
  expect(reused.stderr).toContain(`if pid 1 is not bindu-db, the lock outlived a restart: remove ${fs.realpathSync(lock)}`);
});
