import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Knex } from 'knex';
import { type Migration, readMigrations } from '../../src/core/migrationFiles.js';
import * as migrate from '../../src/core/migrations.js';
import type { Database, Session } from '../../src/db/connect.js';
import { OperationError, RefusedError } from '../../src/errors.js';
import { listAppliedMigrations } from '../../src/db/migrationLog.js';
import { freshDatabase, kinds } from '../helpers/databases.js';

const opts = { lockTimeoutSeconds: 5 };
const names = (list: { name: string }[]) => list.map((m) => m.name);

async function tables(db: Database): Promise<string[]> {
  const { rows } = await db.knex.raw('select table_name from information_schema.tables where table_schema = ? order by 1', [db.schema]);
  return rows.map((r: { table_name: string }) => r.table_name);
}

/** A project's migration defined in the test, not in a file. */
const projectMigration = (name: string, revises: string, up: (k: Knex) => Promise<void>, down: (k: Knex) => Promise<void>): Migration => ({
  name,
  file: 'memory',
  dir: 'memory',
  origin: 'project',
  revises,
  checksum: 'none',
  load: async () => ({ revises, up, down }),
});

describe.each(kinds)('migrations on %s', (kind) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let shipped: Migration[];

  beforeAll(async () => {
    ({ db, dispose } = await freshDatabase(kind));
    shipped = readMigrations();
  });
  afterAll(async () => dispose());

  test('--dry-run runs the migrations, reports their SQL, and leaves nothing behind', async () => {
    const sql: string[] = [];
    const result = await migrate.up(db, shipped, { ...opts, dryRun: true, onSql: (s) => sql.push(s) });
    expect(result.applied).toEqual(names(shipped));
    expect(sql.join('\n')).toMatch(/create table tasks/);
    expect(await tables(db)).toEqual([]);
    expect((await migrate.status(db, shipped)).pending).toEqual(names(shipped));
  });

  test('up --step and --to apply part of the chain; up applies the rest as a new batch', async () => {
    expect(await migrate.up(db, shipped, { ...opts, step: 1 })).toEqual({ batch: 1, applied: ['20251207_0001_initial_schema'] });
    expect(await migrate.up(db, shipped, { ...opts, to: '20251207_0001_initial_schema' })).toEqual({ batch: null, applied: [] });
    const rest = await migrate.up(db, shipped, opts);
    expect(rest).toEqual({ batch: 2, applied: names(shipped).slice(1) });
    const { items, head } = await migrate.history(db, shipped);
    expect(head).toBe(names(shipped).at(-1));
    expect(items.map((i) => [i.name, i.state, i.batch])).toEqual(names(shipped).map((n, i) => [n, 'applied', i === 0 ? 1 : 2]));
    expect(await tables(db)).toEqual(expect.arrayContaining(['bindu_db_migrations', 'contexts', 'task_feedback', 'tasks', 'webhook_configs']));
  });

  test('the database enforces the shapes, keeps updated_at, and cascades deletes', async () => {
    const k = db.knex;
    const [{ context_id }] = await k('contexts').insert({}).returning('context_id');
    const [{ task_id, updated_at }] = await k('tasks').insert({ context_id }).returning(['task_id', 'updated_at']);
    const rejects = async (q: Knex.QueryBuilder | Knex.Raw, code: string) => expect(q.then(() => 'accepted', (e: { code: string }) => e.code)).resolves.toBe(code);
    await rejects(k('tasks').insert({ context_id, status: 'bogus' }), '22P02');
    await rejects(k('tasks').insert({ context_id, history: JSON.stringify({ not: 'an array' }) }), '23514');
    await rejects(k('tasks').insert({ context_id, artifacts: JSON.stringify([1]) }), '23514');
    await rejects(k('contexts').insert({ messages: JSON.stringify({}) }), '23514');
    await rejects(k('contexts').insert({ metadata: JSON.stringify([]) }), '23514');
    await rejects(k('task_feedback').insert({ task_id, rating: 6 }), '23514');
    await rejects(k('task_feedback').insert({ task_id, rating: 0 }), '23514');
    await rejects(k('tasks').insert({ context_id: '00000000-0000-0000-0000-000000000000' }), '23503');
    await rejects(k('webhook_configs').insert({ task_id, config: JSON.stringify([]) }), '23514');
    await k('task_feedback').insert({ task_id, rating: 5, feedback: 'great' });
    await k('webhook_configs').insert({ task_id, config: JSON.stringify({ url: 'https://x', token: 't' }) });

    await k.raw("select pg_sleep(0.01)");
    await k('tasks').where({ task_id }).update({ status: 'completed' });
    const after = await k('tasks').where({ task_id }).first();
    // Timestamps read as UTC text with microseconds (db/timestamps.ts): they sort as they compare.
    expect(after.updated_at > updated_at).toBe(true);

    await k('contexts').where({ context_id }).delete();
    for (const t of ['tasks', 'task_feedback', 'webhook_configs']) expect(Number((await k(t).count({ n: '*' }))[0].n)).toBe(0);
  });

  test('a failing migration rolls back its own changes and names itself and the Postgres error', async () => {
    const failing = projectMigration(
      '20991231_0001_broken',
      names(shipped).at(-1)!,
      async (k) => {
        await k.raw('create table half_done (id int)');
        await k.raw('alter table tasks add constraint no_such check (no_such_column > 0)');
      },
      async () => undefined,
    );
    const error = await migrate.up(db, [...shipped, failing], opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperationError);
    expect((error as Error).message).toMatch(/^migration 20991231_0001_broken failed: column "no_such_column" does not exist \(SQLSTATE 42703\)/);
    expect(await tables(db)).not.toContain('half_done');
    expect((await migrate.status(db, [...shipped, failing])).pending).toEqual(['20991231_0001_broken']);
  });

  test('down reverts one by default, --step n, --to keeps the named one, --all reverts everything', async () => {
    const all = names(shipped);
    expect(await migrate.planDown(db, shipped, {})).toEqual([all.at(-1)]);
    const dry = await migrate.down(db, shipped, { ...opts, all: true, dryRun: true });
    expect(dry.reverted).toEqual([...all].reverse());
    expect((await migrate.status(db, shipped)).applied).toBe(all.length);
    expect(await migrate.down(db, shipped, opts)).toEqual({ reverted: [all.at(-1)] });
    await migrate.up(db, shipped, opts);
    expect(await migrate.down(db, shipped, { ...opts, to: all[0] })).toEqual({ reverted: all.slice(1).reverse() });
    await expect(migrate.down(db, shipped, { ...opts, to: 'nope' })).rejects.toThrow(/nope is not an applied migration/);
    await migrate.up(db, shipped, opts);
    expect(await migrate.down(db, shipped, { ...opts, all: true })).toEqual({ reverted: [...all].reverse() });
    expect(await tables(db)).toEqual(['bindu_db_migrations']);
  });

  test("the package's own migrations run up and down without knex; a project's migration is handed knex", async () => {
    let asked = 0;
    const watched: Database = Object.create(db, {
      withSession: { value: <T>(fn: (s: Session) => Promise<T>) => db.withSession((s) => fn({ sql: s.sql, get knex() { asked++; return s.knex; } })) },
    });
    expect((await migrate.up(watched, shipped, opts)).applied).toEqual(names(shipped));
    expect((await migrate.down(watched, shipped, { ...opts, all: true })).reverted).toEqual([...names(shipped)].reverse());
    expect(asked).toBe(0);
    const theirs = projectMigration(
      '20991231_0002_uses_knex',
      names(shipped).at(-1)!,
      async (k) => void (await k.schema.createTable('made_by_knex', (t) => t.integer('id'))),
      async (k) => void (await k.schema.dropTable('made_by_knex')),
    );
    await migrate.up(watched, [...shipped, theirs], opts);
    expect(asked).toBeGreaterThan(0);
    expect(await tables(db)).toContain('made_by_knex');
    await migrate.down(watched, [...shipped, theirs], { ...opts, all: true });
    expect(await tables(db)).toEqual(['bindu_db_migrations']);
  });
});

describe.each(kinds)('edited migrations on %s', (kind) => {
  let db: Database;
  let dispose: () => Promise<void>;
  let dir: string;
  const head = () => readMigrations().at(-1)!.name;
  const write = (name: string, revises: string, body: string) =>
    fs.writeFileSync(path.join(dir, `${name}.mjs`), `export const revises = '${revises}';\nexport async function up(k) { ${body} }\nexport async function down(k) {}\n`);

  beforeAll(async () => {
    ({ db, dispose } = await freshDatabase(kind));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'project-migrations-'));
  });
  afterAll(async () => dispose());

  test('up records each checksum; a row without one is filled by the next up', async () => {
    write('20990101_0001_note', head(), "await k.raw('alter table tasks add column note text');");
    const all = readMigrations(dir);
    await migrate.up(db, all, opts);
    const checksums = async () => new Map((await listAppliedMigrations(db.sql, db.schema)).map((r) => [r.name, r.checksum]));
    expect(await checksums()).toEqual(new Map(all.map((m) => [m.name, m.checksum])));
    await db.sql.query(`update ${db.schema}.bindu_db_migrations set checksum = null where name = ?`, [all[0].name]);
    expect((await checksums()).get(all[0].name)).toBeNull();
    expect(await migrate.up(db, all, opts)).toEqual({ batch: null, applied: [] });
    expect((await checksums()).get(all[0].name)).toBe(all[0].checksum);
  });

  test('an applied migration whose file changed is named by status and history, and stops up until accepted', async () => {
    write('20990101_0001_note', head(), "await k.raw('alter table tasks add column note text'); // edited");
    write('20990101_0002_more', '20990101_0001_note', "await k.raw('alter table tasks add column more text');");
    const all = readMigrations(dir);
    expect(await migrate.status(db, all)).toMatchObject({ pending: ['20990101_0002_more'], changed: ['20990101_0001_note'] });
    const { items } = await migrate.history(db, all);
    expect(items.filter((i) => i.changed).map((i) => [i.name, i.dir])).toEqual([['20990101_0001_note', dir]]);
    const refused = await migrate.up(db, all, opts).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as RefusedError).message).toMatch(/20990101_0001_note changed since applied; not applying what comes after/);
    expect((refused as RefusedError).hint).toMatch(/--accept-changed 20990101_0001_note/);
    await expect(migrate.up(db, all, { ...opts, acceptChanged: ['20990101_0002_more'] })).rejects.toThrow(/not an applied migration whose file changed/);
    expect(await migrate.up(db, all, { ...opts, acceptChanged: ['20990101_0001_note'] })).toEqual({ batch: 2, applied: ['20990101_0002_more'], accepted: ['20990101_0001_note'] });
    expect(await migrate.status(db, all)).toMatchObject({ pending: [], changed: [] });
  });

  test('a migration table from before checksums is read as it is, and the next up adds and fills them', async () => {
    const all = readMigrations(dir);
    const hasColumn = async () => (await db.sql.query(`select 1 from pg_catalog.pg_attribute where attrelid = '${db.schema}.bindu_db_migrations'::regclass and attname = 'checksum'`)).length > 0;
    await db.sql.query(`alter table ${db.schema}.bindu_db_migrations drop column checksum`);
    expect(await migrate.status(db, all)).toMatchObject({ pending: [], changed: [] });
    expect(await hasColumn()).toBe(false);
    await migrate.up(db, all, opts);
    expect(await hasColumn()).toBe(true);
    expect((await listAppliedMigrations(db.sql, db.schema)).map((r) => r.checksum)).toEqual(all.map((m) => m.checksum));
  });

  test('with nothing pending, up goes on and reports the change; a line-ending change is no change', async () => {
    const file = path.join(dir, '20990101_0002_more.mjs');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/\n/g, '\r\n'));
    expect((await migrate.status(db, readMigrations(dir))).changed).toEqual([]);
    fs.appendFileSync(file, '// edited\n');
    expect(await migrate.up(db, readMigrations(dir), opts)).toEqual({ batch: null, applied: [], changed: ['20990101_0002_more'] });
  });
});

describe('schemas', () => {
  test('--schema puts the tables and the migration record in that schema', async () => {
    const { db, dispose } = await freshDatabase('postgres', 'agent_one');
    try {
      const shipped = readMigrations();
      await migrate.up(db, shipped, opts);
      expect(await tables(db)).toContain('tasks');
      const { rows } = await db.knex.raw("select count(*)::int as n from information_schema.tables where table_schema = 'public'");
      expect(rows[0].n).toBe(0);
    } finally {
      await dispose();
    }
  });
});
