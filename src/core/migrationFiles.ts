import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { OperationError, UsageError } from '../errors.js';
import { readDirectory } from '../lib/readDirectory.js';
import { importModule } from '../lib/importModule.js';

/** What a migration file exports. */
export interface MigrationModule {
  /** The migration this one builds on (Alembic's down_revision); null for the first. */
  revises: string | null;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
  /** false for statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY). */
  transaction?: boolean;
}

export interface Migration {
  /** File name without extension: the same whether it runs from .ts or compiled .js. */
  name: string;
  file: string;
  module: MigrationModule;
}

const MIGRATION_FILE = /^(?!.*\.d\.[cm]?ts$)(.+)\.(ts|js|mjs|mts)$/;

/** Migration files of a directory by name; for a name present as both .ts and .js the .ts wins. */
export function listMigrationFiles(dir: string): Map<string, string> {
  const entries = readDirectory(dir, 'migrations directory', 'set BINDU_DB_MIGRATIONS_DIR or pass --migrations-dir');
  const files = new Map<string, string>();
  for (const entry of entries) {
    const match = MIGRATION_FILE.exec(entry);
    if (!match || entry.startsWith('_') || entry.startsWith('.')) continue;
    const name = match[1];
    if (!files.has(name) || match[2] === 'ts') files.set(name, path.join(dir, entry));
  }
  return files;
}

/**
 * Orders migrations by what each revises, not by file name: the seed's
 * 20250614_0001_add_webhook_configs_table sorts first but builds on 20251207_0001_initial_schema.
 */
export function orderByRevision(items: ReadonlyArray<{ name: string; revises: string | null }>): string[] {
  if (items.length === 0) return [];
  const names = new Set(items.map((m) => m.name));
  const childOf = new Map<string | null, string>();
  for (const m of items) {
    if (m.revises !== null && !names.has(m.revises)) {
      throw new OperationError(`migration ${m.name} revises ${m.revises}, which does not exist`);
    }
    const sibling = childOf.get(m.revises);
    if (sibling !== undefined) {
      const parent = m.revises === null ? 'nothing (both claim to be the first migration)' : m.revises;
      throw new OperationError(
        `migrations ${sibling} and ${m.name} both revise ${parent}`,
        'make one of them revise the other, so the history is a single line',
      );
    }
    childOf.set(m.revises, m.name);
  }
  const order: string[] = [];
  for (let next = childOf.get(null); next !== undefined; next = childOf.get(next)) order.push(next);
  if (order.length !== items.length) {
    const stray = items.filter((m) => !order.includes(m.name)).map((m) => m.name);
    throw new OperationError(`migrations ${stray.join(', ')} form a cycle: none of them leads back to the first migration`);
  }
  return order;
}

/** Loads every migration of the directory, in revision order. */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  const loaded = await Promise.all(
    [...listMigrationFiles(dir)].map(async ([name, file]) => {
      const module = await importModule<Partial<MigrationModule>>(file);
      if (typeof module.up !== 'function' || typeof module.down !== 'function' || module.revises === undefined) {
        throw new OperationError(`${file} is not a migration: it must export revises, up and down`);
      }
      return { name, file, module: module as MigrationModule };
    }),
  );
  const byName = new Map(loaded.map((m) => [m.name, m]));
  return orderByRevision(loaded.map((m) => ({ name: m.name, revises: m.module.revises }))).map((n) => byName.get(n)!);
}

const NEW_NAME = /^[a-z][a-z0-9_]{0,59}$/;

function template(revises: string | null): string {
  return `import type { Knex } from 'knex';

/** The migration this one builds on; migrations run in the order this chain gives. */
export const revises = ${JSON.stringify(revises)};

export async function up(knex: Knex): Promise<void> {
  // await knex.schema.alterTable('tasks', (table) => { table.text('note'); });
}

export async function down(knex: Knex): Promise<void> {
  // await knex.schema.alterTable('tasks', (table) => { table.dropColumn('note'); });
}
`;
}

/** Writes a new TypeScript migration revising the current head; returns its path. */
export function makeMigrationFile(dir: string, name: string, head: string | null, now = new Date()): { path: string; name: string } {
  if (!NEW_NAME.test(name)) {
    throw new UsageError(`invalid migration name "${name}"`, 'use lowercase letters, digits and _ (e.g. add_task_priority), at most 60 characters');
  }
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const taken = [...listMigrationFiles(dir).keys()];
  const sameDay = taken.filter((n) => n.startsWith(`${day}_`)).map((n) => Number(n.split('_')[1]) || 0);
  const seq = String(Math.max(0, ...sameDay) + 1).padStart(4, '0');
  const full = `${day}_${seq}_${name}`;
  const file = path.join(dir, `${full}.ts`);
  fs.writeFileSync(file, template(head), { flag: 'wx' });
  return { path: file, name: full };
}
