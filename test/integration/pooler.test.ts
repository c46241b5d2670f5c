import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import { describeConnection, loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import * as migrate from '../../src/core/migrations.js';
import { checkSession, openDatabase } from '../../src/db/connect.js';
import { ConfigError } from '../../src/errors.js';
import { databasesOfFile } from '../helpers/db.js';
import { pooledUrl } from '../helpers/pooler.js';

// Through the suite's real PgBouncer (transaction mode, as Neon's pooled endpoint): what is
// detected, what refuses, and how many connections and statements a migration run costs.

const databases = databasesOfFile('pooler');
afterAll(() => databases.dropAll());

const expectConfigError = async (p: Promise<unknown>, pattern: RegExp) => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).exitCode).toBe(2);
  expect((err as ConfigError).message).toMatch(pattern);
};

describe('a pooled endpoint', () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await databases.create());
  });

  test('reads run through PgBouncer, which is named; the direct server is not taken for a pooler', async () => {
    const pooled = await openDatabase(loadConfig({ url: pooledUrl(url) }, {}));
    const direct = await openDatabase(loadConfig({ url }, {}));
    try {
      expect(pooled.pooler).toEqual({ name: 'PgBouncer' });
      expect(direct.pooler).toBeUndefined();
      // Two transactions in a row, each with its own schema-qualified statement.
      for (let i = 0; i < 2; i++) expect(await pooled.sql.query('select count(*)::int as n from pg_catalog.pg_namespace')).toHaveLength(1);
    } finally {
      await Promise.all([pooled.close(), direct.close()]);
    }
  });

  test('a session command refuses it (exit 2, naming DIRECT_DATABASE_URL) and runs on DIRECT_DATABASE_URL when set', async () => {
    await expectConfigError(openDatabase(loadConfig({ url: pooledUrl(url) }, {}), { session: 'migrate up' }), /pooled \(PgBouncer\) and migrate up needs a session: set DIRECT_DATABASE_URL/);
    await expectConfigError(checkSession(loadConfig({ url: pooledUrl(url) }, {}), 'backup'), /backup needs a session: set DIRECT_DATABASE_URL/);
    const config = loadConfig({ url: pooledUrl(url), directUrl: url }, {});
    const db = await openDatabase(config, { session: 'migrate up' });
    try {
      expect(db.pooler).toBeUndefined();
      expect(db.label).toBe(describeConnection(parseDatabaseUrl(url)));
    } finally {
      await db.close();
    }
    await expect(checkSession(config, 'backup')).resolves.toBeUndefined();
    // DIRECT_DATABASE_URL pointing at the pooler as well is caught too.
    await expectConfigError(openDatabase(loadConfig({ url: pooledUrl(url), directUrl: pooledUrl(url) }, {}), { session: 'migrate up' }), /DIRECT_DATABASE_URL .* is pooled too/);
  });

  test('the URL alone can say so (?pgbouncer=true, a Neon -pooler host): refused before connecting', async () => {
    // Nothing listens at these hosts: a connection attempt would fail differently.
    await expectConfigError(openDatabase(loadConfig({ url: 'postgresql://u:secret@ep-cool-name-123-pooler.eu-central-1.aws.neon.invalid/db' }, {}), { session: 'migrate up' }), /pooled \(PgBouncer\)/);
    await expectConfigError(openDatabase(loadConfig({ url: 'postgresql://u:secret@127.0.0.1:1/db?pgbouncer=true' }, {}), { session: 'restore' }), /u:\*\*\*@127\.0\.0\.1:1\/db is pooled \(PgBouncer\) and restore needs a session/);
  });

  test('the migration core refuses a pooled database even when handed one', async () => {
    const db = await openDatabase(loadConfig({ url: pooledUrl(url) }, {}));
    try {
      await expectConfigError(migrate.up(db, readMigrations(), { lockTimeoutSeconds: 5 }), /migrations need the direct endpoint/);
      expect(await db.sql.query(`select 1 from pg_catalog.pg_class where relname = 'bindu_db_migrations'`)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe('migrate up on a fresh database', () => {
  test('uses one connection for the lock, the log and the migrations', async () => {
    const { url } = await databases.create();
    const shipped = readMigrations();
    const counts = { connections: 0, statements: 0 };
    const proto = pg.Client.prototype as unknown as { connect: (...a: unknown[]) => unknown; query: (...a: unknown[]) => unknown };
    const { connect, query } = proto;
    proto.connect = function (this: unknown, ...a: unknown[]) {
      counts.connections++;
      return connect.apply(this, a);
    };
    proto.query = function (this: unknown, ...a: unknown[]) {
      counts.statements++;
      return query.apply(this, a);
    };
    try {
      const db = await openDatabase(loadConfig({ url }, {}), { session: 'migrate up' });
      try {
        expect((await migrate.up(db, shipped, { lockTimeoutSeconds: 5 })).applied).toHaveLength(shipped.length);
      } finally {
        await db.close();
      }
    } finally {
      Object.assign(proto, { connect, query });
    }
    expect(counts.connections).toBe(1);
    // knex migrate:latest sends 41 for the same migrations.
    expect(counts.statements).toBeLessThanOrEqual(41);
  });
});
