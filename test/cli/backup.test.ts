import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { binPath, runCli, runOnTerminal, until } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

// Failure modes with stand-in tools: shell scripts in place of pg_dump/psql/pg_restore.

let db: { name: string; url: string };
let dir: string;
let password: string;
const realBin = () => process.env.TEST_PG_BINDIR!;

function script(name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}
/** --version answers like the real tool; anything else runs `body`. */
const fakeDump = (name: string, body: string) => script(name, `if [ "$1" = "--version" ]; then exec "${realBin()}/pg_dump" --version; fi\n${body}`);
/** Running, not a zombie waiting for a parent that will never come (an orphan's new parent may not reap). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
const leftovers = (d: string) => fs.readdirSync(d).filter((f) => f.includes('.partial'));
const env = (extra: Record<string, string> = {}) => ({ env: { DATABASE_URL: db.url, ...extra } });

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-backup-cli-'));
  db = await createTestDatabase('bkcli');
  password = decodeURIComponent(new URL(db.url).password);
  expect((await runCli(['migrate', 'up'], env())).code).toBe(0);
  expect((await runCli(['seed', 'run'], env())).code).toBe(0);
});
afterAll(async () => {
  await dropTestDatabase(db.name);
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('backup failures leave nothing behind', () => {
  test('pg_dump failing midway: exit 1 with its stderr, no file, no temp file', async () => {
    const out = path.join(dir, 'fail.sql');
    const dump = fakeDump('dump-fails', `printf 'CREATE TABLE half' ; echo "pg_dump: error: query failed: connection to ${db.url} lost" >&2; exit 1`);
    const r = await runCli(['backup', out], env({ PG_DUMP: dump }));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: pg_dump failed \(exit 1\): pg_dump: error: query failed/);
    expect(r.stderr).not.toContain(password);
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  test('an existing file is kept without --force (exit 2) and replaced with it', async () => {
    const out = path.join(dir, 'exists.sql');
    fs.writeFileSync(out, 'keep me');
    const r = await runCli(['backup', out], env());
    expect(r.code).toBe(2);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    const failing = await runCli(['backup', out, '--force'], env({ PG_DUMP: fakeDump('dump-fails2', 'exit 1') }));
    expect(failing.code).toBe(1);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
    expect((await runCli(['backup', out, '--force'], env())).code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('PostgreSQL database dump complete');
  });

  // The PG_DUMP a user may have: a wrapper script whose pg_dump is a child of its own (here: sleep,
  // not exec'ed). The tools run in their own process group, killed as one; the temporary file is
  // removed before bindu-db exits, on a second Ctrl-C too.
  test.each([['SIGINT', 1, 130], ['SIGTERM', 1, 143], ['SIGINT', 2, 130]] as const)('%s (%i×) during a wrapper PG_DUMP: exit %i, no file, no temp file, no process left', async (sig, times, exitCode) => {
    const tag = `${sig}-${times}`;
    const out = path.join(dir, `slow-${tag}.sql`);
    const pidFile = path.join(dir, `slow-${tag}.pids`);
    const dump = fakeDump(`dump-wrapper-${tag}`, `printf 'SET x = 1;\\n'; sleep 60 & echo "$$ $!" > "${pidFile}"; wait`);
    const child = spawn(process.execPath, [binPath, 'backup', out], { env: { ...process.env, DATABASE_URL: db.url, PG_DUMP: dump, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const partialWritten = () => leftovers(dir).some((f) => f.startsWith(`.slow-${tag}.sql.`) && fs.statSync(path.join(dir, f)).size > 0);
    await until('the wrapper and its child to run, and the dump to be written', () => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').includes(' ') && partialWritten(), { stop: exited });
    const pids = fs.readFileSync(pidFile, 'utf8').trim().split(' ').map(Number);
    expect(pids).toHaveLength(2);
    for (let n = 0; n < times; n++) child.kill(sig);
    const code = await exited;
    expect(code).toBe(exitCode);
    if (times === 1) expect(stderr).toMatch(/cancelled|terminated/);
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
    // The wrapper and its own child: gone (or, at most, zombies of a reaper that is not us).
    await until('the wrapper and its child to end', () => !pids.some(running), { limitMs: 10_000 });
    expect(pids.filter(running)).toEqual([]);
  });

  test('kill -9 during a slow dump: no file, pg_dump dies with it, and the next backup removes the temp file left behind', async () => {
    const out = path.join(dir, 'killed.sql');
    const pidFile = path.join(dir, 'killed.pid');
    const dump = fakeDump('dump-slow-kill', `echo $$ > "${pidFile}"; printf 'SET x = 1;\\n'; exec sleep 60`);
    const child = spawn(process.execPath, [binPath, 'backup', out], { env: { ...process.env, DATABASE_URL: db.url, PG_DUMP: dump }, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('close', resolve));
    await until('the dump to start', () => fs.existsSync(pidFile), { stop: exited });
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    child.kill('SIGKILL');
    await exited;
    expect(fs.existsSync(out)).toBe(false);
    // The kernel signals the dump as bindu-db dies; give it the moment it needs (no timing assumed).
    await until('the dump to end', () => !running(pid), { limitMs: 10_000 });
    expect(running(pid)).toBe(false);
    expect(leftovers(dir).filter((f) => f.startsWith('.killed.sql.'))).toHaveLength(1);
    const next = await runCli(['backup', out], env());
    expect(next.code).toBe(0);
    expect(leftovers(dir)).toEqual([]);
  });

  test('kill -9 during a restore: nothing is committed, the target is as it was, and the next restore removes the work directory left behind', async () => {
    const file = path.join(dir, 'slow-restore.sql');
    expect((await runCli(['backup', file], env())).code).toBe(0);
    // A statement that takes seconds, after the tables are created inside the restore's transaction.
    // psql must not go on after it to COMMIT: it dies with bindu-db (setpriv), or at the latest at its
    // next write to the pipe bindu-db held; its transaction rolls back once the server finds the
    // connection gone (at the end of the statement).
    const text = fs.readFileSync(file, 'utf8');
    // (A statement the untrusted-file check lets through: a table made from a slow query. pg_sleep
    // it refuses, as it does every call that could stall the server.)
    fs.writeFileSync(file, text.replace('-- PostgreSQL database dump complete', 'CREATE TABLE public.slow AS SELECT count(*) AS a FROM generate_series(1, 60000000);\n\n-- PostgreSQL database dump complete'));
    const target = await createTestDatabase('bkkill');
    const sleeping = async () => (await adminQuery("select 1 from pg_stat_activity where datname = $1 and query like '%generate_series(1, 60000000)%' and pid <> pg_backend_pid()", [target.name])).length > 0;
    try {
      const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
      const workDirs = () => fs.readdirSync(tmp).filter((f) => f.startsWith('bindu-restore-'));
      const child = spawn(process.execPath, [binPath, 'restore', file, '--yes'], { env: { ...process.env, DATABASE_URL: target.url, TMPDIR: tmp }, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('close', resolve));
      await until('the slow statement to run', sleeping, { stop: exited });
      expect(await sleeping()).toBe(true);
      child.kill('SIGKILL');
      await exited;
      await until('the server to end the statement', async () => !(await sleeping()), { limitMs: 10_000 });
      expect(await sleeping()).toBe(false);
      expect(await adminQuery("select table_name from information_schema.tables where table_schema = 'public'", [], target.name)).toEqual([]);
      // Its small files (the rewritten head) stay where the killed run left them, until the next restore.
      expect(workDirs()).toHaveLength(1);
      const fast = path.join(dir, 'fast-restore.sql');
      fs.writeFileSync(fast, text);
      const again = await runCli(['restore', fast, '--yes'], { env: { DATABASE_URL: target.url, TMPDIR: tmp } });
      expect(again.code).toBe(0);
      expect(workDirs()).toEqual([]);
    } finally {
      await dropTestDatabase(target.name);
    }
  });

  test('a pg_dump older than the server is refused before any file exists, naming both versions', async () => {
    const out = path.join(dir, 'old.sql');
    const old = script('pg_dump_old', 'echo "pg_dump (PostgreSQL) 9.6.24"; exit 0');
    const r = await runCli(['backup', out], env({ PG_DUMP: old }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pg_dump 9\.6\.24 .* older than the server, PostgreSQL 15\.\d+/);
    expect(r.stderr).toMatch(/hint: install the PostgreSQL 15 client tools/);
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  test('a missing tool is a clear error (exit 2), from PG_DUMP or --pg-bin', async () => {
    const a = await runCli(['backup', path.join(dir, 'none.sql')], env({ PG_DUMP: '/nonexistent/pg_dump' }));
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/pg_dump not found or not executable: \/nonexistent\/pg_dump\nhint: install the PostgreSQL client tools/);
    const b = await runCli(['restore', path.join(dir, 'none.sql'), '--pg-bin', dir], env());
    expect(b.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'none.sql'))).toBe(false);
  });
});

describe("the server's version, asked before pg_dump runs", () => {
  // psql is only the fast way to ask: without it, or when it fails or hangs, bindu-db's own
  // connection asks, and the check and the backup behave the same.
  test.each([
    ['missing', () => '/nonexistent/psql'],
    ['printing nonsense', () => script('psql-nonsense', 'echo "not a number"')],
    ['failing', () => script('psql-fails', 'echo "psql: error: something odd" >&2; exit 2')],
  ])('psql %s: the backup is made all the same, and an old pg_dump is still refused', async (_what, psql) => {
    const PSQL = psql();
    const out = path.join(dir, `psql-${path.basename(PSQL)}.sql`);
    const refused = await runCli(['backup', out], env({ PSQL, PG_DUMP: script('pg_dump_old2', 'echo "pg_dump (PostgreSQL) 9.6.24"') }));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/pg_dump 9\.6\.24 .* older than the server, PostgreSQL 15\.\d+/);
    const made = await runCli(['backup', out], env({ PSQL }));
    expect(made.stderr).not.toContain('error');
    expect(made.code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toContain('PostgreSQL database dump complete');
    expect(leftovers(dir)).toEqual([]);
  });

  test('needs no psql: the version check asks on its own connection, so a psql that would hang is never started', async () => {
    const pidFile = path.join(dir, 'psql-hangs.pid');
    const PSQL = script('psql-hangs', `echo $$ > "${pidFile}"; exec sleep 300`); // far past the test timeout: waiting for it fails the test
    const out = path.join(dir, 'psql-hangs.sql');
    const r = await runCli(['backup', out], env({ PSQL }));
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(fs.existsSync(out)).toBe(true);
    expect(fs.existsSync(pidFile)).toBe(false);
  });
});

describe("the tools on the machine's own PATH", () => {
  // Every other test puts the server's bin directory first on PATH (see cliEnv); on Debian the
  // PATH a user has runs each tool through postgresql-common's pg_wrapper.
  test('a plain and a custom backup restore through them', async () => {
    const target = await createTestDatabase('bkpath');
    try {
      for (const file of ['path.sql', 'path.dump']) {
        const out = path.join(dir, file);
        expect((await runCli(['backup', out], env({ PATH: process.env.PATH! }))).code).toBe(0);
        const r = await runCli(['restore', out, '--clean', '--yes'], { env: { DATABASE_URL: target.url, PATH: process.env.PATH! } });
        expect(r.stderr).not.toContain('error');
        expect(r.code).toBe(0);
        const [{ n }] = await adminQuery<{ n: string }>('select count(*)::text as n from public.tasks', [], target.name);
        const [{ m }] = await adminQuery<{ m: string }>('select count(*)::text as m from public.tasks', [], db.name);
        expect(Number(m)).toBeGreaterThan(0);
        expect(n).toBe(m);
      }
    } finally {
      await dropTestDatabase(target.name);
    }
  });
});

describe('the password never reaches an argv', () => {
  test('pg_dump, psql and pg_restore get it only through PGPASSWORD', async () => {
    const bin = path.join(dir, 'recording-bin');
    fs.mkdirSync(bin);
    const log = path.join(dir, 'argv.log');
    for (const tool of ['pg_dump', 'psql', 'pg_restore']) {
      script(`recording-bin/${tool}`, `{ echo "${tool} $*"; [ -n "$PGPASSWORD" ] && echo "${tool} has PGPASSWORD"; env | grep -c '^PG' ; } >> "${log}"\nexec "${realBin()}/${tool}" "$@"`);
    }
    const target = await createTestDatabase('bkargv');
    try {
      for (const file of ['argv.sql', 'argv.dump']) {
        const out = path.join(dir, file);
        const b = await runCli(['backup', out, '--pg-bin', bin], env());
        expect(b.code).toBe(0);
        const r = await runCli(['restore', out, '--clean', '--yes', '--pg-bin', bin], { env: { DATABASE_URL: target.url } });
        expect(r.stderr).not.toContain('error');
        expect(r.code).toBe(0);
        for (const text of [b.stdout, b.stderr, r.stdout, r.stderr]) expect(text).not.toContain(password);
      }
    } finally {
      await dropTestDatabase(target.name);
    }
    const recorded = fs.readFileSync(log, 'utf8');
    expect(recorded).toMatch(/^pg_dump --no-password --no-owner --no-privileges --format=p --snapshot=\S+$/m);
    expect(recorded).toMatch(/^pg_restore --no-owner --no-privileges --restrict-key=\S+ --use-list=\S+ --file=- \S*argv\.dump$/m);
    expect(recorded).toMatch(/^psql .*ON_ERROR_STOP=1/m);
    expect(recorded).toContain('pg_dump has PGPASSWORD');
    expect(recorded).toContain('psql has PGPASSWORD');
    expect(recorded).not.toContain(password);
    expect(recorded).not.toContain(encodeURIComponent(password));
    expect(recorded).not.toContain('postgresql://');
  });
});

describe('backup --dry-run', () => {
  test('prints the pg_dump command and its libpq variables, password hidden, and runs nothing', async () => {
    const log = path.join(dir, 'dry-run.log');
    const recorder = (tool: string) => script(`dry-${tool}`, `echo "${tool} $*" >> "${log}"`);
    const out = path.join(dir, 'dry.sql.gz');
    const r = await runCli(['backup', out, '--dry-run'], env({ PG_DUMP: recorder('pg_dump'), PSQL: recorder('psql') }));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/dry-pg_dump --no-password --no-owner --no-privileges --format=p --compress=6$/m);
    expect(r.stdout).toMatch(/PGHOST=127\.0\.0\.1 .*PGPASSWORD=\*\*\* /);
    expect(r.stdout + r.stderr).not.toContain(password);
    expect(fs.existsSync(log)).toBe(false); // neither the version check nor the dump ran
    expect(fs.existsSync(out)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });

  test('--json: one document with the argv and the environment', async () => {
    const r = await runCli(['backup', path.join(dir, 'dry.dump'), '--dry-run', '--json'], env());
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ dry_run: true, format: 'custom', in_process: false, command: ['pg_dump', '--no-password', '--no-owner', '--no-privileges', '--format=c'], schemas: [] });
    expect(doc.env).toMatchObject({ PGHOST: '127.0.0.1', PGDATABASE: db.name, PGPASSWORD: '***' });
  });

  test('refuses what the backup would refuse: an existing file without --force (exit 2)', async () => {
    const out = path.join(dir, 'dry-exists.sql');
    fs.writeFileSync(out, 'keep me');
    const r = await runCli(['backup', out, '--dry-run'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/already exists/);
    expect(fs.readFileSync(out, 'utf8')).toBe('keep me');
  });

  test('on the embedded database: a backup into its own data directory is refused (with --force it replaced one of its files)', async () => {
    const dataDir = path.join(dir, 'self-embedded');
    const env = { BINDU_DB_DATA_DIR: dataDir };
    expect((await runCli(['migrate', 'up'], { env, cwd: dir })).code).toBe(0);
    const version = fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8');
    const r = await runCli(['backup', path.join(dataDir, 'PG_VERSION'), '--format', 'plain', '--force'], { env, cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: .*PG_VERSION is inside the embedded database it backs up/m);
    expect(fs.readFileSync(path.join(dataDir, 'PG_VERSION'), 'utf8')).toBe(version);
    expect((await runCli(['tasks', 'list', '--json'], { env, cwd: dir })).code).toBe(0);
  });

  test('on the embedded database: the in-process dump, and the database is not even opened', async () => {
    const dataDir = path.join(dir, 'dry-embedded');
    const r = await runCli(['backup', path.join(dir, 'dry-embedded.sql'), '--dry-run'], { env: { BINDU_DB_DATA_DIR: dataDir }, cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/the embedded database at .*dry-embedded/);
    expect(r.stdout).toMatch(/in process: pg_dump --no-password --no-owner --no-privileges --format=p$/m);
    expect(fs.existsSync(dataDir)).toBe(false);
  });
});

describe('on a terminal', () => {
  // A pseudo-terminal: unsized (0 columns, as CI's often are), or sized by stty first.
  test.each([
    ['an unsized terminal: no spinner, and no hang', '', false],
    ['an 80-column terminal: a spinner', 'stty cols 80 rows 24', true],
  ])('%s', async (_what, setup, spinner) => {
    for (const file of ['tty.sql', 'tty.dump'].map((f) => path.join(dir, `${spinner ? 'sized' : 'unsized'}-${f}`))) {
      const r = await runOnTerminal(['backup', file], { env: { DATABASE_URL: db.url }, setup });
      expect(r.code).toBe(0);
      expect(r.text).toMatch(/Backed up .* to /);
      expect(r.text.includes('backing up to')).toBe(spinner);
      expect(fs.existsSync(file)).toBe(true);
    }
  });

  test('Ctrl-C typed while the spinner shows stops the backup: exit 130, no file, no temporary file', async () => {
    const file = path.join(dir, 'tty-interrupted.sql');
    const dump = fakeDump('dump-tty-slow', "printf 'SET x = 1;\\n'; exec sleep 30");
    const r = await runOnTerminal(['backup', file], { env: { DATABASE_URL: db.url, PG_DUMP: dump }, setup: 'stty cols 80 rows 24', prompt: /backing up to/, keys: '\u0003' });
    expect(r.code).toBe(130);
    expect(r.text).toMatch(/cancelled/);
    expect(fs.existsSync(file)).toBe(false);
    expect(leftovers(dir)).toEqual([]);
  });
});

describe('a schema whose name holds escape sequences (anyone with CREATE on the database picks one)', () => {
  test('backup, the restore prompt and the restore summary show it escaped, not obeyed', async () => {
    const source = await createTestDatabase('bkesc');
    const target = await createTestDatabase('bkesc');
    try {
      const name = 'x\u001b]0;pwned\u0007\u001b[2J';
      const shown = 'x\\u001b]0;pwned\\u0007\\u001b[2J';
      await adminQuery(`create schema "${name}"`, [], source.name);
      await adminQuery(`create table "${name}".notes (id int)`, [], source.name);
      const file = path.join(dir, 'escaped.sql');
      const backup = await runCli(['backup', file], { env: { DATABASE_URL: source.url } });
      expect(backup.code).toBe(0);
      expect(backup.stdout).not.toContain(name);
      expect(backup.stdout).toContain(shown);
      const asked = await runOnTerminal(['restore', file], { env: { DATABASE_URL: target.url }, prompt: /Restore/, keys: 'n\r' });
      expect(asked.code).toBe(130);
      expect(asked.text).not.toContain(name);
      expect(asked.text).toContain(shown);
      const restored = await runCli(['restore', file, '--yes'], { env: { DATABASE_URL: target.url } });
      expect(restored.code).toBe(0);
      expect(restored.stdout).not.toContain(name);
      expect(restored.stdout).toContain(shown);
    } finally {
      await dropTestDatabase(source.name);
      await dropTestDatabase(target.name);
    }
  });
});

describe('help', () => {
  test.each(['backup', 'restore'])('%s --help shows an example', async (cmd) => {
    const r = await runCli([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\$ bindu-db ${cmd} `));
  });
});

describe('one interrupt mechanism for every command', () => {
  // Not backup's own: a long seed generation, interrupted once it has started.
  test.each([['SIGINT', 130], ['SIGTERM', 143]] as const)('seed generate, %s: exit %i', async (sig, exitCode) => {
    const target = await createTestDatabase('bkint');
    try {
      expect((await runCli(['migrate', 'up'], { env: { DATABASE_URL: target.url } })).code).toBe(0);
      const child = spawn(process.execPath, [binPath, 'seed', 'generate', '--tasks', '5000000'], { env: { ...process.env, DATABASE_URL: target.url, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      const started = new Promise<void>((resolve) => child.stderr.on('data', (d) => ((stderr += d), /generating/.test(stderr) && resolve())));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await started;
      child.kill(sig);
      expect(await exited).toBe(exitCode);
    } finally {
      await dropTestDatabase(target.name);
    }
  });
});
