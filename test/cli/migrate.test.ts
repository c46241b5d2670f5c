import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli } from '../helpers/cli.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';

let db: { name: string; url: string };
const asyncpg = () => db.url.replace('postgresql://', 'postgresql+asyncpg://') + '?ssl=disable';

beforeAll(async () => {
  db = await createTestDatabase('migrate');
});
afterAll(async () => {
  await dropTestDatabase(db.name);
});

describe('migrate on PostgreSQL through a postgresql+asyncpg URL', () => {
  test('status --check exits 3 while migrations are pending', async () => {
    const r = await runCli(['migrate', 'status', '--check', '--json'], { env: { DATABASE_URL: asyncpg() } });
    expect(r.code).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ applied: 0, pending: ['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20261126_0001_add_inspection_indexes'], locked: false });
  });

  test('up applies both migrations in revision order, then history --json reports them', async () => {
    const up = await runCli(['migrate', 'up', '--json'], { env: { DATABASE_URL: asyncpg() } });
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout)).toEqual({ batch: 1, applied: ['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20261126_0001_add_inspection_indexes'] });
    const hist = await runCli(['migrate', 'history', '--json'], { env: { DATABASE_URL: asyncpg() } });
    const doc = JSON.parse(hist.stdout);
    expect(doc.head).toBe('20261126_0001_add_inspection_indexes');
    expect(doc.items.map((i: { name: string; state: string; batch: number }) => [i.name, i.state, i.batch])).toEqual([
      ['20251207_0001_initial_schema', 'applied', 1],
      ['20250614_0001_add_webhook_configs_table', 'applied', 1],
      ['20261126_0001_add_inspection_indexes', 'applied', 1],
    ]);
    expect(doc.items[0].applied_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/); // one timestamp format everywhere
    const rows = await adminQuery('select name from bindu_db_migrations order by id', [], db.name);
    expect(rows.map((r) => r.name)).toEqual(['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20261126_0001_add_inspection_indexes']);
  });

  test('the password never appears in anything printed', async () => {
    const password = decodeURIComponent(new URL(db.url).password);
    for (const args of [['migrate', 'status'], ['migrate', 'history', '--json'], ['migrate', 'up', '--debug'], ['migrate', 'down']]) {
      const r = await runCli(args, { env: { DATABASE_URL: asyncpg() } });
      expect(r.stdout + r.stderr).not.toContain(password);
      expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(password));
    }
  });
});
