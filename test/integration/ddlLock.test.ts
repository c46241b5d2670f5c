import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { type Migration, readMigrations } from '../../src/core/migrationFiles.js';
import * as migrate from '../../src/core/migrations.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { OperationError } from '../../src/errors.js';
import { adminQuery, databasesOfFile } from '../helpers/db.js';

// A migration that needs a table a long transaction holds (a report, a backup) must not stall
// the live service: readers queue behind a waiting ALTER TABLE, so it waits only lock_timeout,
// rolls back, lets them through, and tries again.

const databases = databasesOfFile('ddllock');
const ADD_PRIORITY = '20261201_0001_add_task_priority';

/** Awaits a condition on the server, asking again until it holds. */
async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

describe('a migration waiting for a lock on tasks', () => {
  let t: { name: string; url: string };
  let shipped: Migration[];
  let addPriority: Migration;
  let holder: pg.Client;
  let holderPid: number;
  let db: Database;

  const hasPriority = async () => (await adminQuery(`select 1 from information_schema.columns where table_name = 'tasks' and column_name = 'priority'`, [], t.name)).length === 1;
  const alterWaiting = async () =>
    (await adminQuery(`select 1 from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and query ilike 'alter table tasks%'`, [t.name])).length > 0;

  beforeAll(async () => {
    t = await databases.create();
    shipped = readMigrations();
    addPriority = {
      name: ADD_PRIORITY,
      file: `${ADD_PRIORITY}.ts`,
      dir: 'memory',
      origin: 'project',
      revises: shipped.at(-1)!.name,
      checksum: 'none',
      load: async () => ({
        revises: shipped.at(-1)!.name,
        up: async (knex: Knex) => void (await knex.raw('alter table tasks add column priority integer')),
        down: async (knex: Knex) => void (await knex.raw('alter table tasks drop column priority')),
      }),
    };
    db = await openDatabase(loadConfig({ url: t.url }, {}), { session: 'migrate up' });
    await migrate.up(db, shipped, { lockTimeoutSeconds: 5 });
  });
  beforeEach(async () => {
    // A long transaction that has read tasks: it holds AccessShareLock until it ends.
    holder = new pg.Client({ connectionString: t.url, application_name: 'nightly-report' });
    await holder.connect();
    await holder.query('begin');
    holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid;
    await holder.query('select count(*) from tasks');
  });
  afterEach(async () => holder.end());
  afterAll(async () => {
    await db.close();
    await databases.dropAll();
  });

  test('a reader arriving behind it is served while the migration retries; it goes through once the lock is free', async () => {
    const retries: migrate.LockRetry[] = [];
    let settled = false;
    const running = migrate.up(db, [...shipped, addPriority], { lockTimeoutSeconds: 5, ddlLockTimeoutSeconds: 0.5, ddlRetries: 20, onLockRetry: (r) => retries.push(r) });
    running.then(() => (settled = true), () => (settled = true));
    await until(alterWaiting);
    // Queued behind the waiting ALTER TABLE: without lock_timeout this would wait for the holder.
    const reader = new pg.Client({ connectionString: t.url });
    await reader.connect();
    try {
      expect((await reader.query('select count(*)::int as n from tasks')).rows).toEqual([{ n: 0 }]);
    } finally {
      await reader.end();
    }
    expect(settled).toBe(false); // still retrying: the holder has not let go
    await until(async () => retries.length > 0);
    expect(retries[0]).toMatchObject({ name: ADD_PRIORITY, attempt: 1, holder: { table: 'public.tasks', pid: holderPid, application_name: 'nightly-report' } });
    await holder.query('commit');
    await expect(running).resolves.toEqual({ batch: 2, applied: [ADD_PRIORITY] });
    expect(await hasPriority()).toBe(true);
    await migrate.down(db, [...shipped, addPriority], { lockTimeoutSeconds: 5 });
  });

  test('gives up after its retries: exit 1 naming the migration, the table and who holds it; nothing applied, no lock left', async () => {
    const err = await migrate.up(db, [...shipped, addPriority], { lockTimeoutSeconds: 5, ddlLockTimeoutSeconds: 0.2, ddlRetries: 1 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OperationError);
    expect((err as OperationError).exitCode).toBe(1);
    expect((err as OperationError).message).toMatch(
      new RegExp(`^migration ${ADD_PRIORITY} gave up after 2 tries of 0.2s each waiting for a lock on public\\.tasks \\(AccessShareLock\\) held by backend ${holderPid} \\("nightly-report", idle in transaction since \\d{4}-`),
    );
    expect((err as OperationError).hint).toMatch(new RegExp(`pg_terminate_backend\\(${holderPid}\\)`));
    expect(await hasPriority()).toBe(false);
    const status = await migrate.status(db, [...shipped, addPriority]);
    expect(status).toMatchObject({ pending: [ADD_PRIORITY], locked: false });
  });
});
