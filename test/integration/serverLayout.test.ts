import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { schemaNameForDid } from '../../src/lib/didSchema.js';
import { openDatabase } from '../../src/db/connect.js';
import { runCli } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { buildServerDatabase } from '../helpers/serverDb.js';
import { AGENT_SCHEMAS } from '../fixtures/serverLayout.js';

describe('schema names from DIDs, as the server makes them', () => {
  test.each([
    ['did:bindu:alice:agent1:abc123', 'did_bindu_alice_agent1_abc123'],
    ['DID:Bindu:Bob:Agent', 'did_bindu_bob_agent'],
    ['1abc', 'schema_1abc'],
  ])('%s → %s', (did, schema) => expect(schemaNameForDid(did)).toBe(schema));

  test('a long DID is cut to 54 characters plus the first 8 hex digits of the sha256 of the uncut name', () => {
    const uncut = 'did_bindu_acme_example_com_echo_agent_438b4c2a_9f1e_4d2b_8c3a_1f2e3d4c5b6a';
    const name = schemaNameForDid('did:bindu:acme@example.com:echo_agent:438b4c2a-9f1e-4d2b-8c3a-1f2e3d4c5b6a');
    expect(name).toBe(`${uncut.slice(0, 54)}_${createHash('sha256').update(uncut).digest('hex').slice(0, 8)}`);
    expect(name).toHaveLength(63);
  });

  test('--schema accepts a DID', () => {
    expect(loadConfig({ schema: 'did:bindu:alice:agent1:abc123' }, {}).schema).toBe('did_bindu_alice_agent1_abc123');
  });
});

describe('a database written by Bindu\'s server', () => {
  let db: { name: string; url: string };
  const env = () => ({ DATABASE_URL: db.url });

  beforeAll(async () => {
    db = await createTestDatabase('server');
    const opened = await openDatabase(loadConfig({ url: db.url }, {}));
    try {
      await buildServerDatabase(opened.knex, { legacyPublic: true });
    } finally {
      await opened.close();
    }
    // One schema of our own layout beside them.
    expect((await runCli(['--schema', 'bindu', 'migrate', 'up'], { env: env() })).code).toBe(0);
  });
  afterAll(async () => dropTestDatabase(db.name));

  test('schemas list finds every layout with task counts', async () => {
    const r = await runCli(['schemas', 'list', '--json'], { env: env() });
    expect(r.code).toBe(0);
    const items = JSON.parse(r.stdout).items;
    expect(items.map((i: { schema: string; layout: string; tasks: number }) => [i.schema, i.layout, i.tasks])).toEqual(
      [
        ['bindu', 'bindu-db', 0],
        [AGENT_SCHEMAS.legacy, 'bindu-server', 9],
        [AGENT_SCHEMAS.research, 'bindu-server', 9],
        [AGENT_SCHEMAS.echo, 'bindu-server', 9],
        ['public', 'bindu-server', 9],
      ].sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    const human = await runCli(['schemas', 'list'], { env: env() });
    expect(human.stdout).toMatch(/SCHEMA\s+LAYOUT\s+TASKS\s+LAST ACTIVITY/);
  });

  test('a role that may read only some agents: schemas list shows them all, counting those it can read; a read across schemas names the others', async () => {
    const role = `sl_reader_${process.pid}`;
    await adminQuery(`create role ${role} login password 'Reader-Pass-1'`);
    try {
      await adminQuery(`grant usage on schema ${AGENT_SCHEMAS.echo} to ${role}; grant select on all tables in schema ${AGENT_SCHEMAS.echo} to ${role}`, [], db.name);
      const u = new URL(db.url);
      u.username = role;
      u.password = 'Reader-Pass-1';
      const as = { DATABASE_URL: u.toString() };
      const list = await runCli(['schemas', 'list', '--json'], { env: as });
      expect(list.code).toBe(0);
      const items = JSON.parse(list.stdout).items as { schema: string; tasks: number | null; readable: boolean }[];
      expect(items.find((i) => i.schema === AGENT_SCHEMAS.echo)).toMatchObject({ tasks: 9, readable: true });
      expect(items.find((i) => i.schema === AGENT_SCHEMAS.research)).toMatchObject({ tasks: null, last_activity: null, readable: false });
      expect(items).toHaveLength(5);
      const human = await runCli(['schemas', 'list'], { env: as });
      expect(human.code).toBe(0);
      expect(human.stderr).toMatch(/^this role cannot read 4 schemas; their tasks are not counted$/m);
      expect(human.stdout).toMatch(new RegExp(`^${AGENT_SCHEMAS.research}\\s+bindu-server\\s+-\\s+\\(not readable\\)$`, 'm'));
      for (const args of [['stats', '--all-schemas'], ['tasks', 'list', '--all-schemas'], ['stats', '--by-schema']]) {
        const across = await runCli(args, { env: as });
        expect(across.code).toBe(1);
        expect(across.stderr).toMatch(new RegExp(`^error: the role ${role} cannot read 4 of the 5 schemas holding Bindu tables: [^,]+, [^,]+, [^,]+, and 1 more$`, 'm'));
        expect(across.stderr).toMatch(new RegExp(`^hint: read those it can one at a time with --schema \\(it can read ${AGENT_SCHEMAS.echo}\\), or connect as a role that can read them all$`, 'm'));
        expect(across.stderr.trim().split('\n').filter((l) => l.startsWith('error:'))).toHaveLength(1);
      }
    } finally {
      await adminQuery(`drop owned by ${role}`, [], db.name);
      await adminQuery(`drop role ${role}`);
    }
  });

  test('migrate up refuses a schema of the server layout (exit 2) and explains why', async () => {
    for (const schema of [AGENT_SCHEMAS.echo, 'public']) {
      const r = await runCli(['--schema', schema, 'migrate', 'up'], { env: env() });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/holds Bindu server tables .* never touch them/);
    }
    const down = await runCli(['--schema', AGENT_SCHEMAS.research, 'migrate', 'down', '--yes'], { env: env() });
    expect(down.code).toBe(2);
  });

  test('migrate status reports the database as Alembic-managed and the schema as the server\'s', async () => {
    const r = await runCli(['migrate', 'status', '--json'], { env: env() });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ applied: 0, pending: [], changed: [], locked: false, alembic_version: '20251207_0001', layout: 'bindu-server' });
    const human = await runCli(['migrate', 'status'], { env: env() });
    expect(human.stdout).toMatch(/managed by Bindu's server \(alembic_version 20251207_0001\)/);
  });

  test('migrate history agrees with migrate status there: nothing of ours is pending in a server schema', async () => {
    for (const schema of ['public', AGENT_SCHEMAS.echo]) {
      const status = JSON.parse((await runCli(['--schema', schema, 'migrate', 'status', '--json'], { env: env() })).stdout);
      const history = JSON.parse((await runCli(['--schema', schema, 'migrate', 'history', '--json'], { env: env() })).stdout);
      expect(history.layout).toBe('bindu-server');
      expect(history.items.filter((i: { state: string }) => i.state === 'pending').map((i: { name: string }) => i.name)).toEqual(status.pending);
      expect(history.items.filter((i: { state: string }) => i.state === 'applied')).toHaveLength(status.applied);
    }
    const human = await runCli(['migrate', 'history'], { env: env() });
    expect(human.stdout).toMatch(/holds Bindu server tables/);
    expect(human.stdout).not.toMatch(/pending/);
  });
});

describe('an Alembic-managed database whose public schema has no tables yet', () => {
  test('migrate up refuses to put our tables in its public schema, and suggests --schema', async () => {
    const db = await createTestDatabase('alembic');
    try {
      const opened = await openDatabase(loadConfig({ url: db.url }, {}));
      await opened.knex.raw('create table public.alembic_version (version_num varchar(32) primary key)');
      await opened.close();
      const r = await runCli(['migrate', 'up'], { env: { DATABASE_URL: db.url } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/managed by Alembic/);
      expect(r.stderr).toMatch(/--schema/);
      expect((await runCli(['--schema', 'bindu', 'migrate', 'up'], { env: { DATABASE_URL: db.url } })).code).toBe(0);
    } finally {
      await dropTestDatabase(db.name);
    }
  });
});
