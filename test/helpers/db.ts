import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The admin URL of the test server (set by globalSetup). */
export function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database?: string): Promise<T[]> {
  const url = new URL(adminUrl());
  if (database) url.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh database for one test file; returns its URL (with the real password). Empty, or a copy
 * of `template` (a database nobody is connected to): cheaper than making the same state again.
 */
export async function createTestDatabase(prefix = 't', template?: string): Promise<{ name: string; url: string }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database "${name}"${template ? ` template "${template}"` : ''}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

export async function dropTestDatabase(name: string): Promise<void> {
  await adminQuery(`drop database if exists "${name}" with (force)`);
}

/** The databases a test file makes as it goes: `create` them, `dropAll` in afterAll. */
export function databasesOfFile(defaultPrefix: string) {
  const made: string[] = [];
  return {
    create: async (prefix = defaultPrefix, template?: string) => {
      const db = await createTestDatabase(prefix, template);
      made.push(db.name);
      return db;
    },
    dropAll: async () => {
      for (const name of made.splice(0)) await dropTestDatabase(name);
    },
  };
}
