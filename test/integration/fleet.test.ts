import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Knex } from 'knex';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { doctor } from '../../src/core/fleet/doctor.js';
import { applyRepair, planRepair } from '../../src/core/fleet/repair.js';
import { backfillOwner } from '../../src/core/fleet/backfillOwner.js';
import { SERVER_REFERENCE, OURS_REFERENCE } from '../../src/db/layouts/reference.js';
import { CancelledError } from '../../src/errors.js';
import { databasesOfFile } from '../helpers/db.js';
import { freshDatabase, kinds } from '../helpers/databases.js';
import { runCli } from '../helpers/cli.js';
import { pooledUrl } from '../helpers/pooler.js';
import { FLEET, addOurSchema, buildFleetDatabase } from '../helpers/serverDb.js';
import { createAllSchemaDdl } from '../fixtures/serverLayout.js';

// Fleet operations on a database as Bindu's own code leaves it (Alembic-made public, agent
// schemas made by create_all with and without owner_did) plus one schema of ours: what doctor
// finds, compared with the catalog; repair, also interrupted, then a clean doctor; backfill.

const dbs = databasesOfFile('fleet');
const OURS = 'ours';

/** A new test database holding the fleet and a schema of ours, opened. */
async function fleetDatabase(): Promise<{ url: string; db: Database }> {
  const { url } = await dbs.create();
  const db = await openDatabase(loadConfig({ url }, {}));
  await buildFleetDatabase(db.knex);
  await addOurSchema(url, OURS);
  return { url, db };
}

const rows = async <T>(knex: Knex, sql: string, bindings: unknown[] = []) => ((await knex.raw(sql, bindings as Knex.RawBinding[])) as { rows: T[] }).rows;

/** What the catalog itself (information_schema, pg_indexes) says a schema lacks of its reference. */
async function missingPerCatalog(knex: Knex, schema: string, layout: 'bindu-db' | 'bindu-server'): Promise<string[]> {
  const ref = layout === 'bindu-db' ? OURS_REFERENCE : SERVER_REFERENCE;
  const columns = new Set((await rows<{ c: string }>(knex, 'select table_name || \'.\' || column_name as c from information_schema.columns where table_schema = ?', [schema])).map((r) => r.c));
  const indexes = new Set((await rows<{ indexname: string }>(knex, 'select indexname from pg_indexes where schemaname = ?', [schema])).map((r) => r.indexname));
  const triggers = new Set((await rows<{ trigger_name: string }>(knex, 'select trigger_name from information_schema.triggers where event_object_schema = ?', [schema])).map((r) => r.trigger_name));
  return ref.tables.flatMap((t) => [
    ...t.columns.filter((c) => !columns.has(`${t.name}.${c.name}`)).map((c) => `missing_column ${t.name}.${c.name}`),
    ...t.indexes.filter((i) => !indexes.has(i.name)).map((i) => `missing_index ${i.name}`),
    ...(t.updatedAtTrigger && !triggers.has(t.updatedAtTrigger) ? [`missing_trigger ${t.updatedAtTrigger}`] : []),
  ]);
}

const found = (r: Awaited<ReturnType<typeof doctor>>, schema: string) =>
  r.schemas.find((s) => s.schema === schema)!.findings.map((f) => `${f.kind} ${f.object}`).sort();

afterAll(() => dbs.dropAll());

describe('schemas doctor and repair', () => {
  let url: string;
  let db: Database;
  beforeAll(async () => ({ url, db } = await fleetDatabase()), 60_000);
  afterAll(() => db.close());

  test('doctor: each schema against its layout, the findings the catalog shows and the known drifts of create_all', async () => {
    const r = await doctor(db);
    expect(r.schemas.map((s) => [s.schema, s.layout])).toEqual([
      [FLEET.current, 'bindu-server'],
      [FLEET.old, 'bindu-server'],
      [OURS, 'bindu-db'],
      ['public', 'bindu-server'],
    ]);
    // Alembic's public and our migrations' head are their references.
    expect(found(r, 'public')).toEqual([]);
    expect(found(r, OURS)).toEqual([]);
    const createAll = [
      'column_default tasks.kind',
      'missing_index idx_contexts_history_gin',
      'missing_index idx_tasks_artifacts_gin',
      'missing_index idx_tasks_history_gin',
      'missing_trigger update_contexts_updated_at',
      'missing_trigger update_tasks_updated_at',
      'missing_trigger update_webhook_configs_updated_at',
    ];
    expect(found(r, FLEET.current)).toEqual(createAll);
    expect(found(r, FLEET.old)).toEqual(
      [...createAll, 'missing_column contexts.owner_did', 'missing_column tasks.owner_did', 'missing_index idx_contexts_owner_did', 'missing_index idx_tasks_owner_did'].sort(),
    );
    // Every missing thing doctor names is missing in the catalog, and nothing else is.
    for (const s of r.schemas) {
      const perCatalog = await missingPerCatalog(db.knex, s.schema, s.layout);
      expect({ schema: s.schema, missing: s.findings.filter((f) => f.kind.startsWith('missing_')).map((f) => `${f.kind} ${f.object}`).sort() }).toEqual({ schema: s.schema, missing: perCatalog.sort() });
    }
    // A column the server writes is an error; an index, trigger or default a warning.
    const old = r.schemas.find((s) => s.schema === FLEET.old)!.findings;
    expect(old.filter((f) => f.severity === 'error').map((f) => f.object).sort()).toEqual(['contexts.owner_did', 'tasks.owner_did']);
    expect(r).toMatchObject({ errors: 2, warnings: createAll.length * 2 + 2 });
  });

  test('doctor on the command line: one line per finding, --json, exit 3; a DID names its schema; a schema without tables is a usage error', async () => {
    const text = await runCli(['schemas', 'doctor'], { env: { DATABASE_URL: url } });
    expect(text.code).toBe(3);
    const lines = text.stdout.trim().split('\n');
    expect(lines.filter((l) => /^(error|warning)\s/.test(l))).toHaveLength(18);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^error\\s+${FLEET.old}\\s+tasks\\.owner_did: missing column`)));
    expect(text.stderr).toMatch(/4 schemas checked: 2 errors, 16 warnings in 2 schemas/);
    const json = await runCli(['schemas', 'doctor', '--json', '--schema', 'public', '--schema', OURS], { env: { DATABASE_URL: url } });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ schemas: [expect.objectContaining({ schema: 'public', findings: [] }), expect.objectContaining({ schema: OURS, findings: [] })], errors: 0, warnings: 0 });
    const did = await runCli(['schemas', 'doctor', '--json', '--schema', 'did:bindu:carol_at_example_net:old_agent:0a1b2c3d'], { env: { DATABASE_URL: url } });
    expect(did.code).toBe(3);
    expect(JSON.parse(did.stdout).schemas.map((s: { schema: string }) => s.schema)).toEqual([FLEET.old]);
    const none = await runCli(['schemas', 'doctor', '--schema', 'nothing_here'], { env: { DATABASE_URL: url } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/schema "nothing_here" holds no Bindu tables/);
    expect(none.stdout).toBe('');
  });

  test('through a transaction pooler, doctor and --all-schemas answer exactly what the direct endpoint does', async () => {
    const pooled = pooledUrl(url);
    for (const args of [['schemas', 'doctor', '--json'], ['tasks', 'list', '--all-schemas', '--limit', '5', '--json'], ['stats', '--by-schema', '--json']]) {
      const [direct, through] = await Promise.all([runCli(args, { env: { DATABASE_URL: url } }), runCli(args, { env: { DATABASE_URL: pooled } })]);
      expect(through.stderr).toMatch(/pooled/);
      expect(through.code).toBe(direct.code);
      expect(JSON.parse(through.stdout)).toEqual(JSON.parse(direct.stdout));
    }
  });

  test('repair refuses without a terminal or --yes (exit 2); --dry-run prints the SQL; neither changes anything', async () => {
    const before = await doctor(db);
    const refused = await runCli(['schemas', 'repair'], { env: { DATABASE_URL: url } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to repair 2 schemas .* without confirmation/);
    const dry = await runCli(['schemas', 'repair', '--dry-run', '--schema', FLEET.old], { env: { DATABASE_URL: url } });
    expect(dry.code).toBe(0);
    const q = `"${FLEET.old}"`;
    expect(dry.stdout).toContain(`alter table ${q}."tasks" add column if not exists "owner_did" character varying(255);`);
    expect(dry.stdout).toContain(`alter table ${q}."tasks" alter column "kind" set default 'task'::character varying;`);
    expect(dry.stdout).toContain(`create trigger "update_tasks_updated_at" before update on ${q}."tasks" for each row execute function ${q}."update_updated_at_column"();`);
    expect(dry.stdout).toContain(`create index concurrently if not exists "idx_tasks_history_gin" on ${q}."tasks" using gin ("history");`);
    expect(dry.stdout).not.toMatch(/\bdrop\b|set not null|alter column \S+ type/i);
    expect(await doctor(db)).toEqual(before);
  });

  test('backfill-owner skips a schema without owner_did; ours records no owner', async () => {
    const r = await backfillOwner(db, { ownerDid: 'did:bindu:legacy', dryRun: true });
    expect(r.skipped).toEqual([
      { schema: FLEET.old, reason: expect.stringMatching(/no owner_did column/) },
      { schema: OURS, reason: expect.stringMatching(/records no owner/) },
    ]);
  });

  test('repair behind a long query gives up (lock_timeout, retried) instead of queueing every query behind it, and changes nothing', async () => {
    const reader = new pg.Client({ connectionString: url });
    await reader.connect();
    try {
      await reader.query('begin');
      await reader.query(`select count(*) from "${FLEET.old}".tasks`);
      await expect(applyRepair(db, await planRepair(db, [FLEET.old]), { lockTimeoutSeconds: 0.05 })).rejects.toMatchObject({ code: '55P03' });
    } finally {
      await reader.query('rollback');
      await reader.end();
    }
    // Its transaction rolled back whole: the column it was adding is not there.
    expect(found(await doctor(db, [FLEET.old]), FLEET.old)).toContain('missing_column tasks.owner_did');
  });

  test('repair cut short between schemas goes on when run again; then doctor is clean and the server\'s writes still work', async () => {
    const controller = new AbortController();
    const plans = await planRepair(db);
    // Stop as the first schema starts: its transaction runs, its index builds do not.
    const cut = applyRepair(db, plans, { signal: controller.signal, onSchema: () => controller.abort() });
    await expect(cut).rejects.toBeInstanceOf(CancelledError);
    const half = await doctor(db, [FLEET.current, FLEET.old]);
    expect(found(half, FLEET.current)).toEqual(['missing_index idx_contexts_history_gin', 'missing_index idx_tasks_artifacts_gin', 'missing_index idx_tasks_history_gin']);
    expect(found(half, FLEET.old)).toHaveLength(11);

    const result = await applyRepair(db, await planRepair(db));
    expect(result.schemas.map((s) => s.schema)).toEqual([FLEET.current, FLEET.old]);
    expect(result.after.flatMap((s) => s.findings)).toEqual([]);
    expect(await doctor(db)).toMatchObject({ errors: 0, warnings: 0 });

    // What a server of that version writes: no kind given (SQLAlchemy always gives one; the
    // default now does too), an owner, and an update that moves updated_at by itself.
    const t = `"${FLEET.old}".tasks`;
    await db.knex.raw(`insert into ${t} (id, context_id, state, state_timestamp, owner_did) values ('cc000000-0000-4000-8000-0000000000a1', 'cc000000-0000-4000-8000-000000000000', 'submitted', now(), 'did:x')`);
    const [made] = await rows<{ kind: string; updated_at: string }>(db.knex, `select kind, updated_at from ${t} where id = 'cc000000-0000-4000-8000-0000000000a1'`);
    expect(made.kind).toBe('task');
    await db.knex.raw(`update ${t} set updated_at = '2000-01-01', state = 'working' where id = 'cc000000-0000-4000-8000-0000000000a1'`);
    const [updated] = await rows<{ updated_at: string }>(db.knex, `select updated_at from ${t} where id = 'cc000000-0000-4000-8000-0000000000a1'`);
    expect(Date.parse(String(updated.updated_at))).toBeGreaterThan(Date.parse(String(made.updated_at)) - 1);
    // Data was not rewritten: every task of the fixture is there as it was, owner_did null.
    const [{ n }] = await rows<{ n: string }>(db.knex, `select count(*) as n from ${t} where owner_did is null`);
    expect(Number(n)).toBe(9);
  });

  test('an index build killed mid-CONCURRENTLY leaves an INVALID index: doctor says so, repair builds it again', async () => {
    const s = `"${FLEET.current}"`;
    await db.knex.raw(`drop index ${s}.idx_tasks_history_gin`);
    // A writer's open transaction: CREATE INDEX CONCURRENTLY records its index, then waits for it.
    const writer = new pg.Client({ connectionString: url });
    await writer.connect();
    await writer.query('begin');
    await writer.query(`lock table ${s}.tasks in row exclusive mode`);
    const build = applyRepair(db, await planRepair(db, [FLEET.current]));
    let backend: number | undefined;
    while (backend === undefined) {
      const [row] = await rows<{ pid: number }>(db.knex, `select pid from pg_stat_activity where query ilike 'create index concurrently%' and wait_event_type = 'Lock'`);
      backend = row?.pid;
    }
    // While it runs, doctor says so, and repair would not drop it from under the build.
    const during = await doctor(db, [FLEET.current]);
    expect(during.schemas[0].findings).toEqual([expect.objectContaining({ kind: 'invalid_index', object: 'idx_tasks_history_gin', repairable: false, message: expect.stringContaining(`being built by backend ${backend}`) })]);
    expect((await planRepair(db, [FLEET.current]))[0].statements).toEqual([]);
    await db.knex.raw('select pg_cancel_backend(?)', [backend]);
    await expect(build).rejects.toMatchObject({ code: '57014' });
    await writer.query('rollback');
    await writer.end();

    const [index] = await rows<{ indisvalid: boolean }>(db.knex, `select x.indisvalid from pg_index x where x.indexrelid = to_regclass(?)`, [`${s}.idx_tasks_history_gin`]);
    expect(index).toEqual({ indisvalid: false });
    const r = await doctor(db, [FLEET.current]);
    expect(r.schemas[0].findings).toEqual([expect.objectContaining({ kind: 'invalid_index', object: 'idx_tasks_history_gin', severity: 'warning', repairable: true })]);
    const again = await planRepair(db, [FLEET.current]);
    expect(again[0].statements.map((x) => x.sql)).toEqual([`drop index concurrently if exists ${s}."idx_tasks_history_gin"`, `create index concurrently if not exists "idx_tasks_history_gin" on ${s}."tasks" using gin ("history")`]);
    expect((await applyRepair(db, again)).after[0].findings).toEqual([]);
  });

  test('backfill-owner: only rows without an owner, in batches, counted per schema; a second run finds none', async () => {
    const t = `"${FLEET.old}"`;
    await db.knex.raw(`update ${t}.tasks set owner_did = 'did:other' where id = 'cc000000-0000-4000-8000-000000000001'`);
    const nulls = async (schema: string, table: string) => Number((await rows<{ n: string }>(db.knex, `select count(*) as n from "${schema}".${table} where owner_did is null`))[0].n);
    const expected = { tasks: await nulls(FLEET.old, 'tasks'), contexts: await nulls(FLEET.old, 'contexts') };
    expect(expected).toEqual({ tasks: 8, contexts: 1 });
    const dry = await backfillOwner(db, { ownerDid: 'did:bindu:legacy', schemas: [FLEET.old], dryRun: true });
    expect(dry.schemas).toEqual([{ schema: FLEET.old, ...expected }]);
    expect(await nulls(FLEET.old, 'tasks')).toBe(8);

    const batches: number[] = [];
    const done = await backfillOwner(db, { ownerDid: 'did:bindu:legacy', schemas: [FLEET.old], batch: 3, onBatch: (_s, table, n) => table === 'tasks' && batches.push(n) });
    expect(done.schemas).toEqual([{ schema: FLEET.old, ...expected }]);
    expect(batches).toEqual([3, 3, 2]);
    expect(await nulls(FLEET.old, 'tasks')).toBe(0);
    const owners = await rows<{ owner_did: string; n: string }>(db.knex, `select owner_did, count(*) as n from ${t}.tasks group by 1 order by 1`);
    expect(owners).toEqual([{ owner_did: 'did:bindu:legacy', n: '8' }, { owner_did: 'did:other', n: '1' }, { owner_did: 'did:x', n: '1' }]);
    const cli = await runCli(['schemas', 'backfill-owner', '--owner-did', 'did:bindu:legacy', '--json'], { env: { DATABASE_URL: url } });
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout).schemas.map((s: { tasks: number; contexts: number }) => s.tasks + s.contexts)).toEqual([0, 0, 0]);
  });
});

describe.each(kinds)('a schema of ours that drifted, on %s', (kind) => {
  test('doctor names what is gone, repair puts it back, and doctor is clean', async () => {
    const { db, dispose } = await freshDatabase(kind);
    try {
      await up(db, readMigrations(), { lockTimeoutSeconds: 10 });
      expect(await doctor(db)).toEqual({ schemas: [expect.objectContaining({ schema: 'public', layout: 'bindu-db', findings: [] })], errors: 0, warnings: 0 });
      for (const sql of ['drop index public.tasks_status_created_idx', 'drop trigger tasks_set_updated_at on public.tasks', 'alter table public.tasks alter column status drop default']) await db.sql.query(sql);
      expect(found(await doctor(db), 'public')).toEqual(['column_default tasks.status', 'missing_index tasks_status_created_idx', 'missing_trigger tasks_set_updated_at']);
      const plans = await planRepair(db);
      // The embedded database builds its index in the transaction; PostgreSQL without blocking writes.
      expect(plans[0].statements.map((s) => s.sql)).toEqual([
        `alter table "public"."tasks" alter column "status" set default 'pending'::"public"."task_status"`,
        'create trigger "tasks_set_updated_at" before update on "public"."tasks" for each row execute function "public"."set_updated_at"()',
        `create index${kind === 'postgres' ? ' concurrently' : ''} if not exists "tasks_status_created_idx" on "public"."tasks" using btree (status, created_at desc, task_id desc)`,
      ]);
      expect((await applyRepair(db, plans)).after[0].findings).toEqual([]);
    } finally {
      await dispose();
    }
  });
});

describe("a schema of the user's own with a tasks table that only looks like an agent's", () => {
  test('is no Bindu schema: doctor and repair leave it alone; schemas list, stats and a wrong --schema still answer', async () => {
    const { url, db } = await fleetDatabase();
    try {
      // A job queue of another application: a tasks table with id and state, a contexts table.
      await db.sql.query('create schema jobs');
      await db.sql.query('create table jobs.tasks (id int primary key, state text)');
      await db.sql.query('create table jobs.contexts (id int)');
      // An operator's copy of an agent's tasks, for a look aside: every column, but no other Bindu table.
      await db.sql.query('create schema scratch');
      await db.sql.query(`create table scratch.tasks as select * from "${FLEET.current}".tasks`);
      expect((await doctor(db)).schemas.map((s) => s.schema)).toEqual([FLEET.current, FLEET.old, OURS, 'public']);
      expect((await planRepair(db)).map((p) => p.schema)).toEqual([FLEET.current, FLEET.old, OURS, 'public']);
      const env = { DATABASE_URL: url };
      const list = await runCli(['schemas', 'list', '--json'], { env });
      expect(list.stderr).not.toMatch(/does not exist/);
      expect(list.code).toBe(0);
      expect((JSON.parse(list.stdout) as { items: Array<{ schema: string }> }).items.map((x) => x.schema).sort()).toEqual([FLEET.current, FLEET.old, OURS, 'public'].sort());
      const stats = await runCli(['stats', '--all-schemas', '--json'], { env });
      expect(stats.stderr).not.toMatch(/does not exist/);
      expect(stats.code).toBe(0);
      const wrong = await runCli(['--schema', 'nothing_here', 'tasks', 'list'], { env });
      expect(wrong.stderr).toMatch(/schema "nothing_here" holds no Bindu tables/);
      expect(wrong.code).toBe(2);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('a schema whose name is a DID as typed (not the name the server derives from it)', () => {
  test('repair of every schema repairs it and checks it again by its own name', async () => {
    const { db } = await fleetDatabase();
    try {
      const schema = 'did:bindu:evil@example.com:agent:1';
      for (const sql of createAllSchemaDdl(schema, { ownerDid: true })) await db.sql.query(sql);
      const plans = await planRepair(db);
      expect(plans.map((p) => p.schema)).toContain(schema);
      // The check after the repair read the name as a DID and failed (a usage error) once every schema was repaired.
      const r = await applyRepair(db, plans);
      expect(r.after.find((s) => s.schema === schema)?.findings).toEqual([]);
    } finally {
      await db.close();
    }
  }, 60_000);
});

describe('a schema whose name holds escape sequences', () => {
  test('repair on the command line names it escaped, not obeyed', async () => {
    const { url, db } = await fleetDatabase();
    try {
      const schema = 'agent\u001b]0;pwned\u0007';
      for (const sql of createAllSchemaDdl(schema, { ownerDid: true })) await db.sql.query(sql);
      const r = await runCli(['schemas', 'repair', '--yes'], { env: { DATABASE_URL: url } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('repaired agent\\u001b]0;pwned\\u0007 (');
      expect(r.stdout + r.stderr).not.toContain(schema);
    } finally {
      await db.close();
    }
  }, 60_000);
});
