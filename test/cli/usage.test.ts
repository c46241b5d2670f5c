import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { EMBEDDED_LOCK } from '../../src/db/embeddedTemplate.js';
import { acquireFileLock } from '../../src/lib/fileLock.js';
import { binPath, repoRoot, runCli, runOnTerminal, shippedMigrations } from '../helpers/cli.js';
import { adminUrl, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

let db: { name: string; url: string };
beforeAll(async () => {
  db = await createTestDatabase('usage');
});
afterAll(async () => dropTestDatabase(db.name));

describe('help and usage errors', () => {
  test.each([
    [[]],
    [['--help']],
    [['migrate', '--help']],
    [['migrate', 'up', '--help']],
    [['migrate', 'down', '--help']],
    [['migrate', 'history', '--help']],
    [['migrate', 'status', '--help']],
    [['migrate', 'make', '--help']],
    [['migrate', 'unlock', '--help']],
    [['seed', 'run', '--help']],
  ])('%j prints help with an example and exits 0', async (args) => {
    const r = await runCli(args);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Usage: bindu-db/);
    expect(r.stdout + r.stderr).toMatch(/Examples?:\n\s+\$ bindu-db/);
  });

  test.each([[['migrate']], [['tasks']], [['seed']]])('%j (a group without its subcommand) shows its help on stderr and exits 2', async (args) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Usage: bindu-db /);
  });

  test('--help works with no database driver installed (none is loaded)', () => {
    // A copy of the package whose node_modules holds only what --help may load.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'help-only-'));
    fs.cpSync(path.join(repoRoot, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.cpSync(path.join(repoRoot, 'bin'), path.join(dir, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(dir, 'package.json'));
    const out = execFileSync(process.execPath, [path.join(dir, path.relative(repoRoot, binPath)), 'migrate', 'up', '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/apply pending migrations/);
  });

  test.each([
    [['migrat'], /unknown command 'migrat'[\s\S]*Did you mean migrate\?/],
    [['migrate', 'upp'], /Did you mean up\?/],
    [['migrate', 'up', '--step', '-1'], /--step.*at least 1/],
    [['migrate', 'up', '--step', 'two'], /--step.*whole number/],
    [['migrate', 'up', '--bogus'], /unknown option '--bogus'/],
    [['migrate', 'make', '../escape'], /invalid migration name/],
    [['migrate', 'down', '--step', '1', '--all'], /only one of --step, --to and --all/],
    [['--url', 'mysql://u:hunter2@h/db', 'migrate', 'status'], /unsupported scheme/],
    [['--url', 'postgresql://u:hunter2@h:0/db', 'migrate', 'status'], /bad port/],
    [['--schema', 'x\u0007drop', 'migrate', 'status'], /invalid schema name "x\\u0007drop"/],
    // What commander echoes back is shown escaped too: a typed escape sequence never acts.
    [['\u001b[2Jzz'], /unknown command '\\u001b\[2Jzz'/],
    [['tasks', 'list', '--\u001b]0;x\u0007'], /unknown option '--\\u001b\]0;x\\u0007'/],
  ])('%j is a usage error (exit 2) that says why', async (args, message) => {
    const r = await runCli(args);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  test('--env-file is read; the environment beats it and a flag beats both', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envfile-'));
    const file = path.join(dir, 'custom.env');
    fs.writeFileSync(file, `DATABASE_URL=${db.url}\nBINDU_DB_SCHEMA=from_file\n`);
    const fromFile = await runCli(['--env-file', file, 'migrate', 'status', '--json'], { cwd: dir });
    expect(fromFile.code).toBe(0);
    expect(fromFile.stderr).toMatch(/using postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    const envWins = await runCli(['--env-file', file, 'migrate', 'status'], { cwd: dir, env: { BINDU_DB_SCHEMA: 'bad\tschema' } });
    expect(envWins.stderr).toMatch(/invalid schema name "bad\\tschema"/);
    const flagWins = await runCli(['--env-file', file, '--schema', 'flag_schema', 'migrate', 'status', '--json'], { cwd: dir, env: { BINDU_DB_SCHEMA: 'bad\tschema' } });
    expect(flagWins.code).toBe(0);
    // ./.env is read by default
    fs.writeFileSync(path.join(dir, '.env'), 'STORAGE_TYPE=postgres\n');
    expect((await runCli(['migrate', 'status'], { cwd: dir })).stderr).toMatch(/DATABASE_URL is not set/);
  });

  test('STORAGE_TYPE=postgres without DATABASE_URL is a configuration error', async () => {
    const r = await runCli(['migrate', 'status'], { env: { STORAGE_TYPE: 'postgres' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/DATABASE_URL is not set/);
  });

  test('destructive commands refuse without a terminal and without --yes, changing nothing', async () => {
    await runCli(['migrate', 'up'], { env: { DATABASE_URL: db.url } });
    const r = await runCli(['migrate', 'down'], { env: { DATABASE_URL: db.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/refusing to revert 1 migration .* without confirmation/);
    expect(r.stderr).toMatch(/--yes/);
    expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env: { DATABASE_URL: db.url } })).stdout).pending).toEqual([]);
  });
});

describe('what the user pointed at is wrong: one line, the right exit code, no "please report"', () => {
  const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bad-env-'));
  const oneLine = (r: { stdout: string; stderr: string }, message: RegExp) => {
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/please report|\n\s+at |-sASSERTIONS/);
    expect(r.stderr.trimEnd().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  };
  const aFile = () => {
    const file = path.join(tmp(), 'a-file');
    fs.writeFileSync(file, 'x');
    return file;
  };

  test.each<[string, () => { args: string[]; env?: Record<string, string | undefined> }, number, RegExp]>([
    ['--data-dir <a file>', () => ({ args: ['--data-dir', aFile(), 'tasks', 'list'] }), 2, /the embedded database path .*a-file is not a directory/],
    ['--migrations-dir <a file>', () => ({ args: ['--migrations-dir', aFile(), 'migrate', 'status'], env: { BINDU_DB_DATA_DIR: path.join(tmp(), 'db') } }), 2, /migrations directory .*a-file is not a directory/],
    ['BINDU_DB_SEEDS_DIR=/nonexistent', () => ({ args: ['seed', 'run'], env: { BINDU_DB_SEEDS_DIR: '/nonexistent', BINDU_DB_DATA_DIR: path.join(tmp(), 'db') } }), 2, /seeds directory \/nonexistent does not exist/],
    ['seed generate --tasks 99999999999', () => ({ args: ['seed', 'generate', '--tasks', '99999999999'] }), 2, /--tasks <n>' argument '99999999999' is invalid. expected at most 100,000,000/],
    ['BINDU_DB_LOCK_TIMEOUT=-1', () => ({ args: ['migrate', 'status'], env: { BINDU_DB_LOCK_TIMEOUT: '-1' } }), 2, /^error: BINDU_DB_LOCK_TIMEOUT \(or --lock-timeout\) must be a number of seconds, not "-1"$/m],
    ['--lock-timeout before the command', () => ({ args: ['--lock-timeout', 'soon', 'migrate', 'up'] }), 2, /^error: --lock-timeout must be a number of seconds, not "soon"$/m],
    ['a migration that throws on import', () => {
      const dir = tmp();
      fs.writeFileSync(path.join(dir, '20990101_0001_broken.mjs'), "export const revises = '20261126_0001_add_inspection_indexes';\nthrow new Error('boom at import');\n");
      return { args: ['--migrations-dir', dir, 'migrate', 'up'], env: { BINDU_DB_DATA_DIR: path.join(tmp(), 'db') } };
    }, 1, /^error: cannot load .*20990101_0001_broken\.mjs: boom at import$/m],
    ['a damaged embedded data directory', () => {
      const dir = path.join(tmp(), 'db');
      fs.mkdirSync(path.join(dir, 'global'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'PG_VERSION'), '18\n');
      fs.writeFileSync(path.join(dir, 'global', 'pg_control'), 'x'.repeat(8192));
      return { args: ['--data-dir', dir, 'tasks', 'list'] };
    }, 1, /could not open the embedded database at .*: its files look damaged[\s\S]*hint: restore a backup/],
    ['sslrootcert=/nonexistent', () => ({ args: ['migrate', 'status'], env: { DATABASE_URL: `${db.url}?sslmode=verify-full&sslrootcert=/nonexistent` } }), 2, /cannot read the SSL file \/nonexistent named in DATABASE_URL \(it does not exist\)/],
    ['a URL without the password the server asks for', () => {
      const url = new URL(db.url);
      url.password = '';
      return { args: ['tasks', 'list'], env: { DATABASE_URL: url.toString(), PGPASSWORD: undefined } };
    }, 1, /cannot connect to postgresql:\/\/postgres@.*: the server asks for a password and the URL gives none[\s\S]*hint: add it to DATABASE_URL/],
  ])('%s', async (_name, make, code, message) => {
    const { args, env } = make();
    const r = await runCli(args, { env });
    expect(r.code).toBe(code);
    expect(r.stdout).toBe('');
    oneLine(r, message);
  });

  test('a data directory this user cannot write', async () => {
    const dir = tmp();
    fs.mkdirSync(path.join(dir, 'db'));
    fs.writeFileSync(path.join(dir, 'db', 'PG_VERSION'), '18\n');
    fs.chmodSync(dir, 0o755);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    // As root every directory is writable: the test needs another user (root can be one).
    const uid = process.getuid?.() === 0 ? nobody : undefined;
    if (uid === undefined) fs.chmodSync(dir, 0o555);
    const r = await runCli(['--data-dir', path.join(dir, 'db'), 'tasks', 'list'], { uid, cwd: os.tmpdir() });
    expect(r.code).toBe(1);
    oneLine(r, /the embedded database at .*db is not writable by this user \(permission denied\)/);
  });
});

describe('confirmation on a terminal', () => {
  // Keys are typed into a pseudo-terminal once the prompt shows.
  const typeAt = (keys: string, args: string[]) => runOnTerminal(args, { env: { DATABASE_URL: db.url }, prompt: /\(y\/N\)/, keys });
  const appliedCount = async () => JSON.parse((await runCli(['migrate', 'status', '--json'], { env: { DATABASE_URL: db.url } })).stdout).applied;

  test('Ctrl-C at the prompt exits 130 and changes nothing; "n" too; "y" goes ahead', async () => {
    await runCli(['migrate', 'up'], { env: { DATABASE_URL: db.url } });
    const before = await appliedCount();
    const ctrlC = await typeAt('\u0003', ['migrate', 'down']);
    expect(ctrlC.code).toBe(130);
    expect(ctrlC.text).toMatch(/cancelled: nothing was changed/);
    expect((await typeAt('n\r', ['migrate', 'down'])).code).toBe(130);
    expect(await appliedCount()).toBe(before);
    const yes = await typeAt('y\r', ['migrate', 'down']);
    expect(yes.code).toBe(0);
    expect(await appliedCount()).toBe(before - 1);
  });
});

describe('connection failures are one line, exit 1, without the password', () => {
  // backup asks psql for the server's version first: its failure must read the same as everyone else's.
  const backupFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-conn-')), 'b.sql');
  const commands: [string, () => string[]][] = [
    ['migrate status', () => ['migrate', 'status']],
    ['tasks list', () => ['tasks', 'list']],
    ['backup', () => ['backup', backupFile()]],
  ];
  const noBackupLeft = (args: string[]) => {
    if (args[0] !== 'backup') return;
    expect(fs.readdirSync(path.dirname(args[1]))).toEqual([]);
    fs.rmSync(path.dirname(args[1]), { recursive: true });
  };

  test.each(commands)('wrong password: %s', async (_name, argv) => {
    const url = new URL(db.url);
    url.password = 'Wr0ng-Secret-Value';
    const args = argv();
    const r = await runCli(args, { env: { DATABASE_URL: url.toString() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot connect to postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/.*password authentication failed/);
    expect(r.stderr).toMatch(/hint: check the user name and password/);
    expect(r.stderr).not.toContain('Wr0ng-Secret-Value');
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
    noBackupLeft(args);
  });

  // The hint names where the wrong or missing credential was read: the flag, the variable, or PGPASSWORD.
  test.each<[string, (url: URL) => { args: string[]; env: Record<string, string | undefined> }, RegExp]>([
    ['a wrong password in --url', (url) => ({ args: ['--url', url.toString(), 'tasks', 'list'], env: {} }), /^hint: check the user name and password in --url$/m],
    ['a wrong PGPASSWORD for a URL without one', (url) => {
      const password = url.password;
      url.password = '';
      return { args: ['tasks', 'list'], env: { DATABASE_URL: url.toString(), PGPASSWORD: `${password}-wrong` } };
    }, /^hint: check the user name in DATABASE_URL and the password in PGPASSWORD$/m],
    ['a wrong line in PGPASSFILE for a URL without a password', (url) => {
      url.password = '';
      const passfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-pass-')), 'pgpass');
      fs.writeFileSync(passfile, '*:*:*:*:Wr0ng-Secret-Value\n', { mode: 0o600 });
      return { args: ['tasks', 'list'], env: { DATABASE_URL: url.toString(), PGPASSWORD: undefined, PGPASSFILE: passfile } };
    }, /^hint: check the user name in DATABASE_URL and its line in the password file .*pgpass$/m],
    // libpq's rules, which the tools follow too: the first line matching host:port:database:user,
    // and a file others may read is ignored. Given no password node-pg's SASL code left the
    // process hanging after its error.
    ['a PGPASSFILE with no line for this server', (url) => {
      url.password = '';
      const passfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-pass-')), 'pgpass');
      fs.writeFileSync(passfile, `# another server\nelsewhere:*:*:*:Wr0ng-Secret-Value\n127.0.0.1:1:*:*:Wr0ng-Secret-Value\n`, { mode: 0o600 });
      return { args: ['tasks', 'list'], env: { DATABASE_URL: url.toString(), PGPASSWORD: undefined, PGPASSFILE: passfile } };
    }, /^hint: the password file .*pgpass has no line for 127\.0\.0\.1:\d+:\w+:postgres \(add one\); or add the password to DATABASE_URL or PGPASSWORD$/m],
    ['a PGPASSFILE that others may read', (url) => {
      const password = decodeURIComponent(url.password);
      url.password = '';
      const passfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-pass-')), 'pgpass');
      fs.writeFileSync(passfile, `*:*:*:*:${password.replace(/[\\:]/g, '\\$&')}\n`);
      fs.chmodSync(passfile, 0o644);
      return { args: ['tasks', 'list'], env: { DATABASE_URL: url.toString(), PGPASSWORD: undefined, PGPASSFILE: passfile } };
    }, /^hint: the password file .*pgpass is ignored, as libpq ignores it: others may read it \(chmod 600 it\); or add the password to DATABASE_URL or PGPASSWORD$/m],
    ['no password in --url', (url) => {
      url.password = '';
      return { args: ['--url', url.toString(), 'tasks', 'list'], env: { PGPASSWORD: undefined } };
    }, /^hint: add it to --url after the user name, as user:password@host \(percent-encode special characters\), or set PGPASSWORD$/m],
  ])('%s: the hint says where to look', async (_name, make, hint) => {
    const url = new URL(db.url);
    if (_name.startsWith('a wrong password')) url.password = 'Wr0ng-Secret-Value';
    const { args, env } = make(url);
    const r = await runCli(args, { env, timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(hint);
    expect(r.stderr).not.toContain('Wr0ng-Secret-Value');
    expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
  });

  test("a URL without a password and PGPASSFILE's line for it: connects, and backup's pg_dump gets the same password; no warning from the driver", async () => {
    const url = new URL(db.url);
    const password = decodeURIComponent(url.password);
    url.password = '';
    const passfile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-pass-')), 'pgpass');
    fs.writeFileSync(passfile, `127.0.0.1:${url.port}:${url.pathname.slice(1)}:postgres:${password.replace(/[\\:]/g, '\\$&')}\n`, { mode: 0o600 });
    const env = { DATABASE_URL: url.toString(), PGPASSWORD: undefined, PGPASSFILE: passfile };
    const listed = await runCli(['migrate', 'status', '--json'], { env });
    expect(listed.code).toBe(0);
    expect(listed.stderr).not.toMatch(/warning|pgpass/i);
    const file = backupFile();
    const backedUp = await runCli(['backup', file], { env });
    expect(backedUp.code).toBe(0);
    expect(backedUp.stderr).not.toMatch(/warning|pgpass/i);
    expect(`${backedUp.stdout}${backedUp.stderr}`).not.toContain(password);
    fs.rmSync(path.dirname(file), { recursive: true });
    fs.rmSync(path.dirname(passfile), { recursive: true });
  });

  test.each(commands)('server down: %s', async (_name, argv) => {
    const url = new URL(adminUrl());
    url.port = '1'; // nothing listens there
    const args = argv();
    const r = await runCli(args, { env: { DATABASE_URL: url.toString() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/connection refused/);
    expect(r.stderr).toMatch(/hint: is the server running/);
    expect(r.stderr).not.toContain(decodeURIComponent(url.password));
    noBackupLeft(args);
  });

  test('a database that does not exist', async () => {
    const url = new URL(adminUrl());
    url.pathname = '/no_such_db';
    const r = await runCli(['migrate', 'status'], { env: { DATABASE_URL: url.toString() } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/database "no_such_db" does not exist/);
  });
});

describe('migrate make', () => {
  test("the new TypeScript migration goes to the project's directory, revises the head, and the next `up` runs it with no build", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'make-'));
    const own = await createTestDatabase('make');
    const env = { DATABASE_URL: own.url, BINDU_DB_MIGRATIONS_DIR: dir };
    expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
    const made = await runCli(['migrate', 'make', 'add_task_priority', '--json'], { env });
    expect(made.code).toBe(0);
    const doc = JSON.parse(made.stdout);
    expect(doc.revises).toBe((await shippedMigrations()).at(-1));
    expect(path.dirname(doc.path)).toBe(dir);
    fs.writeFileSync(doc.path, fs.readFileSync(doc.path, 'utf8').replace("// await knex.schema.alterTable('tasks', (table) => { table.text('note'); });", "await knex.schema.alterTable('tasks', (table) => { table.integer('priority'); });"));
    const up = await runCli(['migrate', 'up', '--json'], { env });
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout).applied).toEqual([doc.name]);
    const hist = JSON.parse((await runCli(['migrate', 'history', '--json'], { env })).stdout);
    expect(hist.head).toBe(doc.name);
    await dropTestDatabase(own.name);
  });

  test('--migrations-dir naming a directory not made yet (its --help example) makes it; an invalid name makes nothing', async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'make-dir-'));
    const env = { BINDU_DB_DATA_DIR: path.join(cwd, 'db') };
    const refused = await runCli(['migrate', 'make', 'Add-Owner', '--migrations-dir', 'db/migrations'], { cwd, env });
    expect(refused.code).toBe(2);
    expect(fs.existsSync(path.join(cwd, 'db/migrations'))).toBe(false);
    const made = await runCli(['migrate', 'make', 'add_owner', '--migrations-dir', 'db/migrations', '--json'], { cwd, env });
    expect(made.stderr).not.toMatch(/error/);
    expect(made.code).toBe(0);
    const doc = JSON.parse(made.stdout);
    expect(path.dirname(doc.path)).toBe(path.join(fs.realpathSync(cwd), 'db/migrations'));
    expect(doc.revises).toBe((await shippedMigrations()).at(-1));
  });
});

describe('embedded database', () => {
  test('a node without WebAssembly (--jitless) is told so, and the directory is never called damaged', async () => {
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jitless-')), 'db');
    const env = { BINDU_DB_DATA_DIR: dir };
    expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
    const r = await runCli(['tasks', 'list'], { env: { ...env, NODE_OPTIONS: '--jitless' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: the embedded database needs WebAssembly, which this node runs without \(--jitless\)$/m);
    expect(r.stderr).not.toMatch(/damaged/);
    expect((await runCli(['tasks', 'list', '--json'], { env })).code).toBe(0);
  });

  test('a second process opening a data directory in use gets a clear error, and the holder is unharmed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-lock-'));
    const env = { BINDU_DB_DATA_DIR: path.join(dir, 'db') };
    expect((await runCli(['migrate', 'up'], { env })).code).toBe(0);
    // This test process holds the directory's lock, as a long-running bindu-db would.
    const release = await acquireFileLock(path.join(env.BINDU_DB_DATA_DIR, EMBEDDED_LOCK));
    const second = await runCli(['migrate', 'status'], { env });
    release();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`is in use by another bindu-db process \\(pid ${process.pid}\\)`));
    const after = await runCli(['migrate', 'status', '--json'], { env });
    expect(JSON.parse(after.stdout)).toEqual({ applied: (await shippedMigrations()).length, pending: [], changed: [], locked: false });
  });

  test('a data directory from another PostgreSQL major gets a message saying what to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'emb-old-'));
    fs.mkdirSync(path.join(dir, 'db'));
    fs.writeFileSync(path.join(dir, 'db', 'PG_VERSION'), '17\n');
    const r = await runCli(['migrate', 'status'], { env: { BINDU_DB_DATA_DIR: path.join(dir, 'db') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/made by PostgreSQL 17; this bindu-db embeds PostgreSQL 18/);
    expect(r.stderr).toMatch(/hint: back it up/);
  });
});
