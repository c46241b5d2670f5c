import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';
import { describeConnection, loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { ConfigError, UsageError } from '../../src/errors.js';

/** What fn throws (undefined if nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('parseDatabaseUrl: the URL forms Bindu uses', () => {
  test.each([
    ['postgresql://bindu_user:pw@localhost:5432/bindu_db', 'localhost', 5432, 'bindu_user', 'pw', 'bindu_db'],
    ['postgres://bindu_user:pw@db.internal/bindu_db', 'db.internal', 5432, 'bindu_user', 'pw', 'bindu_db'],
    ['postgresql+asyncpg://bindu_user:mypassword@localhost:5432/bindu_db?ssl=require', 'localhost', 5432, 'bindu_user', 'mypassword', 'bindu_db'],
    ['postgresql+psycopg://u:p@10.0.0.5:6543/db', '10.0.0.5', 6543, 'u', 'p', 'db'],
    ['postgresql://u:p@[::1]:5433/db', '::1', 5433, 'u', 'p', 'db'],
    ['postgresql://u@localhost/db', 'localhost', 5432, 'u', undefined, 'db'],
    ['postgresql://u:p@localhost', 'localhost', 5432, 'u', 'p', 'u'],
    ['postgresql://u%40corp:p%3Aw%2Fd%25@h/my%20db', 'h', 5432, 'u@corp', 'p:w/d%', 'my db'],
    ['postgresql://u:p@/db?host=/var/run/postgresql', '/var/run/postgresql', 5432, 'u', 'p', 'db'],
  ])('%s', (url, host, port, user, password, database) => {
    const c = parseDatabaseUrl(url);
    expect([c.host, c.port, c.user, c.password, c.database]).toEqual([host, port, user, password, database]);
  });

  test.each([
    ['?ssl=require', 'require'],
    ['?ssl=true', 'require'],
    ['?ssl=false', 'disable'],
    ['?ssl=disable', 'disable'],
    ['?ssl=prefer', 'prefer'],
    ['?ssl=verify-ca', 'verify-ca'],
    ['?ssl=verify-full', 'verify-full'],
    ['?sslmode=require', 'require'],
    ['?sslmode=disable', 'disable'],
    ['?sslmode=verify-full', 'verify-full'],
    ['?sslmode=allow', 'allow'],
    ['', 'prefer'],
  ])('ssl spelling %s → %s', (query, mode) => {
    expect(parseDatabaseUrl(`postgresql+asyncpg://u:p@h/db${query}`).sslMode).toBe(mode);
  });

  test.each([
    ['?SSLMODE=require', 'lower-case: sslmode'],
    ['?sslmod=require', 'valid parameters: host, port'],
    ['?ssl=require&sslcompression=1', 'sslcompression'],
  ])('unknown or misspelt query parameter %s is a usage error naming the valid ones', (query, hint) => {
    const error = thrown(() => parseDatabaseUrl(`postgresql+asyncpg://u:p@h/db${query}`));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('unknown query parameter');
    expect(`${(error as ConfigError).message} ${(error as ConfigError).hint}`).toContain(hint);
  });

  test.each([
    'postgresql://bob:s3cr3tPart/xyz@localhost/db',
    'postgresql://bob:abc#defSecretPart@localhost/db',
    'postgresql://bob:pa@ss/wordSecretPart@localhost/db',
    'postgresql://bob:pa?ssSecretPart@localhost/db',
    'postgresql://bob:p%zzSecretPart@localhost/db',
    'postgresql://bob:SecretPart:99@localhost:5432/db',
    'postgresql://bob:SecretPart@localhost:notaport/db',
    'postgresql://bobSecretPart:x y@localhost/db',
  ])('no fragment of the credentials of %s appears in its error; the hint says to percent-encode', (url) => {
    const error = thrown(() => parseDatabaseUrl(url)) as ConfigError | undefined;
    // Credentials with a ':' in the password are legal (it runs to the last '@'); the rest fail.
    if (url.includes('SecretPart:99')) return expect(parseDatabaseUrl(url).password).toBe('SecretPart:99');
    expect(error).toBeInstanceOf(ConfigError);
    const text = `${error!.message}\n${error!.hint}`;
    for (const fragment of ['SecretPart', 's3cr3t', 'xyz', 'abc', 'bob', 'def', 'wordS']) expect(text).not.toContain(fragment);
    if (!url.includes('notaport')) expect(error!.hint).toContain('percent-encode');
  });

  test('a value echoed in an error is cut short', () => {
    const message = (thrown(() => parseDatabaseUrl(`postgresql://u@h/${'d'.repeat(100_000)}?ssl=${'x'.repeat(100_000)}`)) as Error).message;
    expect(message).toContain('unknown ssl mode');
    expect(message.length).toBeLessThan(500);
  });

  test('a Unix-socket URL is shown with its socket path', () => {
    expect(describeConnection(parseDatabaseUrl('postgresql://u:p@/db?host=/var/run/postgresql'))).toBe('postgresql://u:***@:5432/db?host=/var/run/postgresql');
  });

  test('sslmode wins over ssl when both are given (libpq spelling is the precise one)', () => {
    expect(parseDatabaseUrl('postgresql://u:p@h/db?ssl=disable&sslmode=verify-full').sslMode).toBe('verify-full');
  });

  test.each([
    ['mysql://u:secretpw@h/db', 'unsupported scheme'],
    ['localhost:5432/db', 'must start with postgresql://'],
    ['postgresql://u:secretpw@h:99999/db', 'bad port'],
    ['postgresql://u:secretpw@h:abc/db', 'bad port'],
    ['postgresql://u:secret pw@h b/db', 'not a valid URL'],
    ['postgresql://u:secretpw@h/db?ssl=maybe', 'unknown ssl mode'],
    ['postgresql://:secretpw@h/db', 'no user name'],
    ['postgresql://u:secret%zzpw@h/db', 'percent-encoding'],
  ])('malformed %s is a usage error naming the problem, password masked', (url, problem) => {
    const error = thrown(() => parseDatabaseUrl(url));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as Error).message).toContain(problem);
    expect((error as Error).message).not.toContain('secret');
  });
});

describe('loadConfig precedence: flag > environment > .env > default', () => {
  const url = (db: string) => `postgresql://u:p@h/${db}`;
  const dbOf = (c: ReturnType<typeof loadConfig>) => (c.target.kind === 'postgres' ? c.target.connection.database : c.target.kind);

  test('flag beats environment beats .env', () => {
    expect(dbOf(loadConfig({ url: url('flag') }, { DATABASE_URL: url('env') }, { DATABASE_URL: url('file') }))).toBe('flag');
    expect(dbOf(loadConfig({}, { DATABASE_URL: url('env') }, { DATABASE_URL: url('file') }))).toBe('env');
    expect(dbOf(loadConfig({}, {}, { DATABASE_URL: url('file') }))).toBe('file');
    expect(dbOf(loadConfig({}, {}, {}))).toBe('embedded');
  });

  test('STORAGE_TYPE: memory forces the embedded database, postgres requires a URL', () => {
    expect(loadConfig({}, { STORAGE_TYPE: 'memory', DATABASE_URL: url('x') }).target.kind).toBe('embedded');
    expect(loadConfig({}, { STORAGE_TYPE: 'postgres', DATABASE_URL: url('x') }).target.kind).toBe('postgres');
    expect(() => loadConfig({}, { STORAGE_TYPE: 'postgres' })).toThrow(ConfigError);
    // An empty --url (a variable that was not set, in a script) is that, whatever STORAGE_TYPE says.
    expect(() => loadConfig({ url: '' }, {})).toThrow(/^--url is empty$/);
    expect(() => loadConfig({}, { STORAGE_TYPE: 'sqlite' })).toThrow(/postgres.*memory/);
  });

  test('defaults and variables', () => {
    const c = loadConfig({}, {});
    expect([c.schema, c.connectTimeoutSeconds, c.lockTimeoutSeconds, c.runMigrationsOnStartup]).toEqual(['public', 10, 60, true]);
    expect(c.target.kind === 'embedded' && c.target.dataDir.endsWith('.bindu/db')).toBe(true);
    const e = loadConfig({}, { BINDU_DB_SCHEMA: 'agent_a', PGCONNECT_TIMEOUT: '3', STORAGE__RUN_MIGRATIONS_ON_STARTUP: 'false', BINDU_DB_DATA_DIR: '/tmp/x' });
    expect([e.schema, e.connectTimeoutSeconds, e.runMigrationsOnStartup]).toEqual(['agent_a', 3, false]);
    expect(e.target.kind === 'embedded' && e.target.dataDir).toBe('/tmp/x');
    expect(loadConfig({ schema: 'flag_schema' }, { BINDU_DB_SCHEMA: 'env_schema' }).schema).toBe('flag_schema');
  });

  test('bad values are usage errors', () => {
    expect(() => loadConfig({ schema: 'a\u0000drop' }, {})).toThrow(UsageError);
    expect(loadConfig({ schema: 'a;drop "X"' }, {}).schema).toBe('a;drop "X"'); // legal once quoted, and every query quotes it
    expect(() => loadConfig({ connectTimeout: 'soon' }, {})).toThrow(/--connect-timeout/);
    expect(() => loadConfig({}, { STORAGE__RUN_MIGRATIONS_ON_STARTUP: 'perhaps' })).toThrow(/true or false/);
  });

  test('a bad timeout names where it came from: the flag, or the variable and the flag', () => {
    expect(() => loadConfig({}, { BINDU_DB_LOCK_TIMEOUT: '-1' })).toThrow(/^BINDU_DB_LOCK_TIMEOUT \(or --lock-timeout\) must be a number of seconds, not "-1"$/);
    expect(() => loadConfig({ lockTimeout: '-1' }, { BINDU_DB_LOCK_TIMEOUT: '5' })).toThrow(/^--lock-timeout must be/);
    expect(() => loadConfig({}, { PGCONNECT_TIMEOUT: 'x' })).toThrow(/^PGCONNECT_TIMEOUT \(or --connect-timeout\)/);
  });

  test('a 100 KB value is echoed cut short', () => {
    const message = (thrown(() => loadConfig({ schema: `bad-${'x'.repeat(100_000)}` }, {})) as Error).message;
    expect(message).toMatch(/^invalid schema name "bad-x+…"$/);
    expect(message.length).toBeLessThan(100);
  });

  test('the password is registered as a secret to scrub from output', () => {
    expect(loadConfig({ url: 'postgresql://u:s3cr%40t@h/db' }, {}).secrets).toEqual(['s3cr@t']);
  });
});

describe('the password file PGPASSFILE names, read by the rules libpq reads it by', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-pgpass-unit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const passfile = (name: string, text: string, mode = 0o600) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    fs.chmodSync(file, mode);
    return file;
  };
  const lookup = (url: string, env: Record<string, string>) => {
    const c = loadConfig({ url }, env).target as { connection: { password?: string; passfileGivesNone?: string } };
    return [c.connection.password, c.connection.passfileGivesNone];
  };

  test.each([
    ['the first matching line wins; * matches any field', 'other:*:*:*:no\n*:5432:db:u:first\n*:*:*:*:second\n', 'postgresql://u@h/db', ['first', undefined]],
    ['\\: and \\\\ are escapes, in the fields and the password', 'h\\:x:5432:db:u:p\\:w\\\\d\n', 'postgresql://u@h%3Ax/db', ['p:w\\d', undefined]],
    ['comments and blank lines are skipped', '# h:5432:db:u:comment\n\nh:5432:db:u:real\n', 'postgresql://u@h/db', ['real', undefined]],
    ['a Unix socket matches a localhost line', 'localhost:5432:db:u:sock\n', 'postgresql://u@/db?host=/run/pg', ['sock', undefined]],
    ['no line for this connection', 'h:5433:db:u:x\nh:5432:db:other:x\n', 'postgresql://u@h/db', [undefined, 'has no line for h:5432:db:u (add one)']],
  ])('%s', (_what, text, url, expected) => {
    expect(lookup(url, { PGPASSFILE: passfile(`${expected[0] ?? 'none'}.pgpass`, text) })).toEqual(expected);
  });

  test('without PGPASSFILE, ~/.pgpass (of $HOME) is the file, as libpq reads it', () => {
    const home = fs.mkdtempSync(path.join(dir, 'home-'));
    fs.writeFileSync(path.join(home, '.pgpass'), 'h:5432:db:u:fromhome\n', { mode: 0o600 });
    expect(lookup('postgresql://u@h/db', { HOME: home })).toEqual(['fromhome', undefined]);
    expect(lookup('postgresql://u@h/db', { HOME: home, PGPASSFILE: path.join(dir, 'missing') })).toEqual([undefined, undefined]);
  });

  test('a file others may read is ignored; a missing one too; the URL and PGPASSWORD come first', () => {
    const open = passfile('open.pgpass', '*:*:*:*:x\n', 0o644);
    expect(lookup('postgresql://u@h/db', { PGPASSFILE: open })).toEqual([undefined, 'is ignored, as libpq ignores it: others may read it (chmod 600 it)']);
    expect(lookup('postgresql://u@h/db', { PGPASSFILE: path.join(dir, 'missing') })).toEqual([undefined, undefined]);
    const file = passfile('later.pgpass', '*:*:*:*:fromfile\n');
    expect(lookup('postgresql://u:inurl@h/db', { PGPASSFILE: file, PGPASSWORD: 'env' })).toEqual(['inurl', undefined]);
    expect(lookup('postgresql://u@h/db', { PGPASSFILE: file, PGPASSWORD: 'env' })).toEqual(['env', undefined]);
    expect(loadConfig({ url: 'postgresql://u@h/db' }, { PGPASSFILE: file }).secrets).toEqual(['fromfile']);
  });

  test('PGPASSWORD and PGPASSFILE in the .env file count as DATABASE_URL there does; the environment wins', () => {
    const file = passfile('dotenv.pgpass', '*:*:*:*:fromdotenvfile\n');
    const password = (env: Record<string, string>, dotenv: Record<string, string>) => (loadConfig({}, env, dotenv).target as { connection: { password?: string } }).connection.password;
    expect(password({}, { DATABASE_URL: 'postgresql://u@h/db', PGPASSWORD: 'fromdotenv' })).toBe('fromdotenv');
    expect(password({ PGPASSWORD: 'fromenv' }, { DATABASE_URL: 'postgresql://u@h/db', PGPASSWORD: 'fromdotenv' })).toBe('fromenv');
    expect(password({ HOME: dir }, { DATABASE_URL: 'postgresql://u@h/db', PGPASSFILE: file })).toBe('fromdotenvfile');
  });
});
