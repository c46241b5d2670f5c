import { describe, expect, test } from '@jest/globals';
import { loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { poolerOfProbe, poolerOfUrl, pooledNote, sessionConfig } from '../../src/db/pooler.js';
import { ConfigError } from '../../src/errors.js';

describe('a pooled endpoint, from its URL', () => {
  test.each([
    ['postgresql://u:p@ep-cool-name-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require', 'PgBouncer'],
    ['postgresql+asyncpg://u:p@db.example.com:6432/bindu?pgbouncer=true', 'PgBouncer'],
    ['postgresql://u:p@db.example.com:6432/bindu?pgbouncer=TRUE', 'PgBouncer'],
    ['postgresql://u:p@ep-cool-name-123456.eu-central-1.aws.neon.tech/neondb', undefined],
    ['postgresql://u:p@pooler.example.com/db', undefined],
    ['postgresql://u:p@h/db?pgbouncer=false', undefined],
  ])('%s: %s', (url, name) => {
    expect(poolerOfUrl(parseDatabaseUrl(url))?.name).toBe(name);
  });
});

describe('a pooled endpoint, from what the connection showed', () => {
  const c = parseDatabaseUrl('postgresql://u:p@h:6432/db');
  test.each([
    [{ processID: 4242, lastParameter: 'TimeZone' }, 4242, undefined],
    [{ processID: -73261, lastParameter: 'application_name' }, 4242, 'PgBouncer'],
    [{ processID: 99, lastParameter: 'TimeZone' }, 4242, 'a connection pooler'],
    [{ processID: null }, 4242, undefined],
  ])('%o, backend %d: %s', (startup, pid, name) => {
    expect(poolerOfProbe(c, startup, pid)?.name).toBe(name);
  });

  test('the notice names it', () => {
    expect(pooledNote({ name: 'PgBouncer' })).toBe(' (pooled: PgBouncer)');
    expect(pooledNote(undefined)).toBe('');
  });
});

describe('DIRECT_DATABASE_URL', () => {
  const pooled = 'postgresql://u:pooledpw@ep-x-pooler.neon.tech/db';
  test('parsed like DATABASE_URL (forms, ssl=, password a secret); --direct-url beats the variable', () => {
    const c = loadConfig({}, { DATABASE_URL: pooled, DIRECT_DATABASE_URL: 'postgresql+asyncpg://u:dir%40pw@ep-x.neon.tech/db?ssl=require' });
    expect(c.directConnection).toMatchObject({ host: 'ep-x.neon.tech', password: 'dir@pw', sslMode: 'require' });
    expect(c.secrets).toEqual(['pooledpw', 'dir@pw']);
    expect(loadConfig({ directUrl: 'postgresql://u@flag/db' }, { DATABASE_URL: pooled, DIRECT_DATABASE_URL: 'postgresql://u@env/db' }).directConnection?.host).toBe('flag');
  });

  test('a malformed one is a usage error with its password masked', () => {
    let error: unknown;
    try {
      loadConfig({}, { DATABASE_URL: pooled, DIRECT_DATABASE_URL: 'postgresql://u:secretpw@h:99999/db' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/bad port/);
    expect((error as Error).message).not.toContain('secretpw');
  });

  test('session commands run on it; without it, on DATABASE_URL; the embedded database ignores it', () => {
    const withDirect = sessionConfig(loadConfig({}, { DATABASE_URL: pooled, DIRECT_DATABASE_URL: 'postgresql://u@direct/db' }));
    expect(withDirect.target.kind === 'postgres' && withDirect.target.connection.host).toBe('direct');
    const without = sessionConfig(loadConfig({}, { DATABASE_URL: pooled }));
    expect(without.target.kind === 'postgres' && without.target.connection.host).toBe('ep-x-pooler.neon.tech');
    expect(loadConfig({}, { DIRECT_DATABASE_URL: 'postgresql://u@direct/db' }).directConnection).toBeUndefined();
  });
});

describe('the DDL lock timeout', () => {
  test('5 s by default; BINDU_DB_DDL_LOCK_TIMEOUT, then --ddl-lock-timeout, override it', () => {
    expect(loadConfig({}, {}).ddlLockTimeoutSeconds).toBe(5);
    expect(loadConfig({}, { BINDU_DB_DDL_LOCK_TIMEOUT: '0.5' }).ddlLockTimeoutSeconds).toBe(0.5);
    expect(loadConfig({ ddlLockTimeout: '2' }, { BINDU_DB_DDL_LOCK_TIMEOUT: '0.5' }).ddlLockTimeoutSeconds).toBe(2);
    expect(() => loadConfig({ ddlLockTimeout: 'soon' }, {})).toThrow(/--ddl-lock-timeout must be a number of seconds/);
  });
});
