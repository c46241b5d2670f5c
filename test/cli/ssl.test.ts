import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli, shippedMigrations } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

// The test server speaks TLS with a self-signed certificate for localhost only (see pgServer.js).
// A migration records whether its own connection was encrypted, as the server saw it.
let db: { name: string; url: string };
let migrationsDir: string;
const rootCert = () => process.env.TEST_PG_SSL_ROOT_CERT!;
const asyncpg = (query: string) => `${db.url.replace('postgresql://', 'postgresql+asyncpg://')}${query}`;

beforeAll(async () => {
  db = await createTestDatabase('ssl');
  migrationsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssl-probe-'));
  fs.writeFileSync(
    path.join(migrationsDir, '20260101_0001_probe.ts'),
    `export const revises = '${(await shippedMigrations()).at(-1)}';
export async function up(knex: any) { await knex.raw('create table ssl_seen as select ssl from pg_stat_ssl where pid = pg_backend_pid()'); }
export async function down(knex: any) { await knex.raw('drop table ssl_seen'); }
`,
  );
});
afterAll(async () => dropTestDatabase(db.name));

async function encryptedWith(query: string): Promise<boolean> {
  const env = { DATABASE_URL: asyncpg(query), BINDU_DB_MIGRATIONS_DIR: migrationsDir };
  const up = await runCli(['migrate', 'up'], { env });
  expect(up.code).toBe(0);
  const [row] = await adminQuery('select ssl from ssl_seen', [], db.name);
  expect((await runCli(['migrate', 'down', '--yes'], { env })).code).toBe(0);
  return row.ssl;
}

describe('SSL spellings against a TLS-enabled server', () => {
  test.each([
    ['?ssl=require', true],
    ['?sslmode=require', true],
    ['?ssl=true', true],
    ['?ssl=disable', false],
    ['?sslmode=disable', false],
    ['?ssl=false', false],
    ['?sslmode=verify-ca&sslrootcert=ROOT', true],
  ])('%s → encrypted: %s', async (query, encrypted) => {
    expect(await encryptedWith(query.replace('ROOT', rootCert()))).toBe(encrypted);
  });

  test('verify-full with the server certificate as root, by the name it carries, connects encrypted', async () => {
    const env = { DATABASE_URL: asyncpg(`?sslmode=verify-full&sslrootcert=${rootCert()}`).replace('@127.0.0.1:', '@localhost:') };
    const r = await runCli(['migrate', 'status'], { env });
    expect(r.code).toBe(0);
  });

  test('verify-full without a trusted root fails with a one-line certificate error', async () => {
    const r = await runCli(['migrate', 'status'], { env: { DATABASE_URL: asyncpg('?ssl=verify-full') } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot connect to postgresql:\/\/postgres:\*\*\*@.*certificate/im);
    expect(r.stderr).not.toContain(decodeURIComponent(new URL(db.url).password));
  });

  test('verify-full checks the host name (the certificate names localhost, not 127.0.0.1); verify-ca does not', async () => {
    const full = await runCli(['migrate', 'status'], { env: { DATABASE_URL: asyncpg(`?sslmode=verify-full&sslrootcert=${rootCert()}`) } });
    expect(full.code).toBe(1);
    expect(full.stderr).toMatch(/127\.0\.0\.1/);
    const ca = await runCli(['migrate', 'status'], { env: { DATABASE_URL: asyncpg(`?sslmode=verify-ca&sslrootcert=${rootCert()}`) } });
    expect(ca.code).toBe(0);
  });
});
