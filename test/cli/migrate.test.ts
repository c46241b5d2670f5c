import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runCli, shippedMigrations } from '../helpers/cli.js';
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
    expect(JSON.parse(r.stdout)).toEqual({ applied: 0, pending: ['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20261126_0001_add_inspection_indexes'], changed: [], locked: false });
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

describe("a project's migrations directory", () => {
  test('status and history read the migrations without running them; up names the one that fails to load', async () => {
    const other = await createTestDatabase('migrate');
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'project-'));
      fs.writeFileSync(path.join(dir, '20990101_0001_bad.ts'), `export const revises = '${(await shippedMigrations()).at(-1)}';\nthrow new Error('boom at import');\n`);
      const env = { DATABASE_URL: other.url, BINDU_DB_MIGRATIONS_DIR: dir };
      const status = await runCli(['migrate', 'status', '--check', '--json'], { env });
      expect(status.code).toBe(3);
      expect(JSON.parse(status.stdout).pending.at(-1)).toBe('20990101_0001_bad');
      const history = await runCli(['migrate', 'history', '--json'], { env });
      expect(history.code).toBe(0);
      expect(JSON.parse(history.stdout).items.at(-1)).toMatchObject({ name: '20990101_0001_bad', state: 'pending', dir });
      const up = await runCli(['migrate', 'up'], { env });
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`cannot load migration ${path.join(dir, '20990101_0001_bad.ts')}: boom at import`);
      expect(JSON.parse((await runCli(['migrate', 'status', '--json'], { env })).stdout).applied).toBe(0);
    } finally {
      await dropTestDatabase(other.name);
    }
  });

  test('--migrations-dir naming a file or nothing is a usage error', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'project-')), 'x');
    fs.writeFileSync(file, '');
    for (const [given, why] of [[file, 'is not a directory'], [`${file}-missing`, 'does not exist']]) {
      const r = await runCli(['migrate', 'status', '--migrations-dir', given], { env: { DATABASE_URL: db.url } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`migrations directory ${given} ${why}`);
    }
  });
});
