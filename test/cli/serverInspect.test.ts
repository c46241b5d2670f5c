import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { pooledUrl } from '../helpers/pooler.js';
import { createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { buildServerDatabase } from '../helpers/serverDb.js';
import { AGENT_SCHEMAS } from '../fixtures/serverLayout.js';

// The inspection commands as an operator runs them on a Bindu server's database (issue 5):
// --schema, --json field names, both status vocabularies, --owner, --payment-status, exit codes.

const json = (r: CliResult) => {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
  return JSON.parse(r.stdout);
};

describe('inspection commands on a Bindu server database (through PgBouncer)', () => {
  let db: { name: string; url: string };
  // Through PgBouncer in transaction mode, as on a managed host; migrate up goes to the direct endpoint.
  const cli = (...args: string[]) => runCli(args, { env: { DATABASE_URL: pooledUrl(db.url), DIRECT_DATABASE_URL: db.url } });
  const echo = (...args: string[]) => cli('--schema', AGENT_SCHEMAS.echo, ...args);

  beforeAll(async () => {
    db = await createTestDatabase('serverinspectcli');
    const opened = await openDatabase(loadConfig({ url: db.url }, {}));
    try {
      await buildServerDatabase(opened.knex, { legacyPublic: true });
    } finally {
      await opened.close();
    }
    expect((await cli('--schema', 'bindu', 'migrate', 'up')).code).toBe(0);
    expect((await cli('--schema', 'bindu', 'seed', 'run')).code).toBe(0);
  });
  afterAll(async () => dropTestDatabase(db.name));

  test('tasks list --json: our field names plus the server\'s own values; no pending-migration warning', async () => {
    const r = await echo('tasks', 'list', '--status', 'failed', '--json');
    const doc = json(r);
    expect(doc.next).toBeNull();
    expect(doc.items.map((t: { failure_reason: string | null }) => t.failure_reason)).toEqual([null, 'Task execution failed: ConnectionError: upstream LLM refused the request']);
    expect(Object.keys(doc.items[0]).sort()).toEqual(
      ['context_id', 'created_at', 'failure_reason', 'message_count', 'owner_did', 'payment_status', 'state', 'state_timestamp', 'status', 'task_id', 'updated_at'],
    );
    expect(r.stderr).not.toMatch(/pending/);
  });

  test('the server\'s status words and ours select the same tasks; the table shows both words', async () => {
    const ids = async (status: string) => json(await echo('tasks', 'list', '--status', status, '--json')).items.map((t: { task_id: string; status: string }) => [t.task_id, t.status]);
    expect(await ids('working')).toEqual(await ids('running'));
    expect(await ids('input-required,submitted')).toEqual(await ids('input_required,pending'));
    expect((await ids('canceled')).map((x: string[]) => x[1])).toEqual(['canceled']);
    const table = await echo('tasks', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^TASK\s+STATUS\s+CONTEXT\s+OWNER\s+CREATED\s+UPDATED\s+MSGS\s+PAYMENT\s+FAILURE REASON$/m);
    expect(table.stdout).toContain('running (working)');
    expect(table.stdout).toContain('payment-orphaned');
  });

  test('--payment-status with --until: the stuck payments', async () => {
    const doc = json(await echo('tasks', 'list', '--payment-status', 'payment-failed,payment-orphaned', '--until', '3m', '--json'));
    expect(doc.items.map((t: { payment_status: string }) => t.payment_status)).toEqual(['payment-failed', 'payment-orphaned']);
  });

  test.each([
    [['--schema', 'bindu', 'tasks', 'list', '--status', 'canceled'], /status "canceled" does not exist in schema "bindu" \(bindu-db layout\)[\s\S]*valid statuses there: pending, running, completed, failed, input_required/],
    [['--schema', AGENT_SCHEMAS.legacy, 'tasks', 'list', '--owner', 'did:bindu:x'], /--owner: .* has no owner_did column[\s\S]*before April 2026/],
    [['--schema', AGENT_SCHEMAS.legacy, 'contexts', 'list', '--owner', 'did:bindu:x'], /--owner: .* has no owner_did column[\s\S]*before April 2026/],
    [['contexts', 'list', '--owner', ''], /--owner must be a DID of 1 to 255 characters/],
    [['--schema', 'bindu', 'tasks', 'list', '--payment-status', 'payment-failed'], /--payment-status: schema "bindu" \(bindu-db layout\) records no payment status/],
    [['--schema', 'no_such_schema', 'tasks', 'list'], new RegExp(`schema "no_such_schema" holds no Bindu tables[\\s\\S]*schemas that do: .*${AGENT_SCHEMAS.echo} \\(bindu-server\\)`)],
    [['--schema', 'no_such_schema', 'stats'], /holds no Bindu tables/],
    [['tasks', 'list', '--status', 'bogus'], /unknown status "bogus"[\s\S]*valid statuses: pending, running, completed, failed, input_required, auth_required, canceled, rejected/],
  ])('%j is a usage error (exit 2), nothing on stdout', async (args, message) => {
    const r = await cli(...args, '--json');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });

  test('tasks show, contexts, feedback and stats on the server layout', async () => {
    const list = json(await echo('tasks', 'list', '--status', 'working', '--json'));
    const shown = await echo('tasks', 'show', list.items[0].task_id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Status\s+running \(working\)/);
    expect(shown.stdout).toContain('"token": "***"');
    expect(shown.stdout + shown.stderr).not.toContain('server-webhook-token-123456');
    const contexts = json(await echo('contexts', 'list', '--json'));
    // The server keeps a conversation in its tasks' history only: counted and shown from there, and said so.
    expect(contexts.items[0]).toMatchObject({ task_count: 9, message_count: expect.any(Number), messages_from: 'tasks.history', owner_did: 'did:bindu:acme@example.com:echo_agent:438b4' });
    expect(contexts.items[0].message_count).toBeGreaterThan(9);
    const contextShown = await echo('contexts', 'show', contexts.items[0].context_id);
    expect(contextShown.stdout).toContain(`Messages (${contexts.items[0].message_count}, from its tasks' history)`);
    expect(contextShown.stdout).toMatch(/please do task failed/);
    expect((await echo('contexts', 'list')).stdout).toMatch(/MSGS\*[\s\S]*\* messages in the contexts' tasks' history/);
    const owned = json(await echo('contexts', 'list', '--owner', 'did:bindu:acme@example.com:echo_agent:438b4', '--json'));
    expect(owned.items.map((c: { context_id: string }) => c.context_id)).toEqual(contexts.items.filter((c: { owner_did: string }) => c.owner_did === 'did:bindu:acme@example.com:echo_agent:438b4').map((c: { context_id: string }) => c.context_id));
    expect(json(await echo('contexts', 'list', '--owner', 'did:bindu:nobody', '--json')).items).toEqual([]);
    const feedback = json(await echo('feedback', 'list', '--min-rating', '4', '--json'));
    expect(feedback.items.map((f: { rating: number; feedback: string }) => [f.rating, f.feedback])).toEqual([[5, 'Great answer']]);
    const stats = json(await echo('stats', '--json'));
    expect(stats.tasks_by_status).toEqual({ pending: 1, running: 1, completed: 1, failed: 2, input_required: 1, auth_required: 1, canceled: 1, rejected: 1 });
    expect(stats.tasks_by_state.working).toBe(1);
    const table = await echo('stats');
    expect(table.stdout).toMatch(/server states: submitted 1, working 1/);
  });

  test('the legacy public schema (Alembic-managed) is the default one and reads the same way', async () => {
    const doc = json(await cli('tasks', 'list', '--json'));
    expect(doc.items).toHaveLength(9);
    expect(doc.items.every((t: { owner_did: null }) => t.owner_did === null)).toBe(true);
    const csv = await cli('tasks', 'list', '--format', 'csv', '--limit', '1');
    expect(csv.stdout.split('\n')[0]).toBe('task_id,context_id,status,created_at,updated_at,message_count,failure_reason,state,state_timestamp,owner_did,payment_status');
  });
});
