import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { listMigrationFiles, loadMigrations, makeMigrationFile, orderByRevision } from '../../src/core/migrationFiles.js';
import { packageRoot } from '../../src/config.js';

describe('orderByRevision', () => {
  test('orders by what each migration revises, not by name', () => {
    expect(orderByRevision([
      { name: '20250614_0001_add_webhook_configs_table', revises: '20251207_0001_initial_schema' },
      { name: '20251207_0001_initial_schema', revises: null },
      { name: '20240101_0001_z', revises: '20250614_0001_add_webhook_configs_table' },
    ])).toEqual(['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table', '20240101_0001_z']);
  });

  test('two migrations revising the same parent is an error naming both', () => {
    expect(() => orderByRevision([
      { name: 'a', revises: null },
      { name: 'b', revises: 'a' },
      { name: 'c', revises: 'a' },
    ])).toThrow('migrations b and c both revise a');
  });

  test('two first migrations, unknown parents and cycles are errors', () => {
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: null }])).toThrow(/a and b both revise nothing/);
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: 'zzz' }])).toThrow('b revises zzz, which does not exist');
    expect(() => orderByRevision([{ name: 'a', revises: null }, { name: 'b', revises: 'c' }, { name: 'c', revises: 'b' }])).toThrow(/cycle/);
  });
});

describe('migration files', () => {
  test('the shipped migrations load in revision order, named without extension', async () => {
    const list = await loadMigrations(path.join(packageRoot, 'migrations'));
    expect(list.map((m) => m.name).slice(0, 2)).toEqual(['20251207_0001_initial_schema', '20250614_0001_add_webhook_configs_table']);
  });

  test('.d.ts and helper files are skipped; .ts and .js of one name are one migration', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    for (const f of ['a.ts', 'a.js', 'a.d.ts', '_helper.ts', 'README.md', 'b.mjs']) fs.writeFileSync(path.join(dir, f), '');
    expect([...listMigrationFiles(dir)]).toEqual([['a', path.join(dir, 'a.ts')], ['b', path.join(dir, 'b.mjs')]]);
  });

  test('make writes a dated, sequenced TypeScript migration revising the head, and validates the name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mig-'));
    const now = new Date('2026-11-26T10:00:00Z');
    const first = makeMigrationFile(dir, 'add_priority', 'h', now);
    const second = makeMigrationFile(dir, 'add_owner', first.name, now);
    expect([first.name, second.name]).toEqual(['20261126_0001_add_priority', '20261126_0002_add_owner']);
    expect(fs.readFileSync(second.path, 'utf8')).toContain(`export const revises = "${first.name}";`);
    for (const bad of ['Add', '../x', 'a-b', 'x/y', '', '1abc', 'a'.repeat(61)]) {
      expect(() => makeMigrationFile(dir, bad, null, now)).toThrow(/invalid migration name/);
    }
  });
});
