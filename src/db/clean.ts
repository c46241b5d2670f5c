import type { Knex } from 'knex';
import type { DumpEntry } from '../lib/dumpContents.js';
import { binduTablesIn } from './catalog.js';
import { quoteIdent } from './embedded.js';
import { type LayoutName, detectLayout } from './layouts.js';
import { MIGRATION_TABLE } from './migrationLog.js';

// restore --clean: what a schema the dump brings holds now, and the statements that clear the way
// for the dump inside the restore's own transaction. Only the dump's schemas are touched, and a
// schema itself is never dropped (public belongs to the database, and may hold other things).

/** The Bindu tables a schema holds now, and their layout. */
export interface SchemaHolding {
  schema: string;
  tables: string[];
  layout?: LayoutName;
}

export async function schemaHolding(db: Knex, schema: string): Promise<SchemaHolding> {
  const [tables, found] = await Promise.all([binduTablesIn(db, schema), detectLayout(db, schema)]);
  return { schema, tables, ...(found ? { layout: found.layout } : {}) };
}

const q = (schema: string, name: string) => `${quoteIdent(schema)}.${quoteIdent(name)}`;

/** f(integer, text) → "schema"."f"(integer, text): pg_dump's tag already spells the argument types as SQL. */
function routine(schema: string, tag: string): string {
  const open = tag.indexOf('(');
  return open < 0 ? `${q(schema, tag)}()` : `${q(schema, tag.slice(0, open))}${tag.slice(open)}`;
}

/**
 * DROP … IF EXISTS … CASCADE for everything the dump creates in its schemas, plus the Bindu
 * tables they hold now (and, in a schema of our layout, our migration log, enum and trigger
 * function, which a dump of the server's layout would otherwise leave behind).
 * CASCADE takes indexes, constraints, triggers and owned sequences with the tables.
 */
export function cleanStatements(entries: DumpEntry[], holdings: SchemaHolding[]): string {
  const tables = new Map<string, string>();
  const other: string[] = [];
  const add = (kind: string, target: string) => {
    const sql = `DROP ${kind} IF EXISTS ${target} CASCADE;`;
    if (!other.includes(sql)) other.push(sql);
  };
  for (const h of holdings) {
    for (const t of h.tables) tables.set(q(h.schema, t), q(h.schema, t));
    if (h.layout === 'bindu-db') {
      tables.set(q(h.schema, MIGRATION_TABLE), q(h.schema, MIGRATION_TABLE));
      add('FUNCTION', routine(h.schema, 'set_updated_at()'));
      add('TYPE', q(h.schema, 'task_status'));
    }
  }
  const schemas = new Set(holdings.map((h) => h.schema));
  for (const e of entries) {
    if (!e.schema || !schemas.has(e.schema)) continue;
    switch (e.type) {
      case 'TABLE':
      case 'FOREIGN TABLE':
        tables.set(q(e.schema, e.name), q(e.schema, e.name));
        break;
      case 'VIEW':
        add('VIEW', q(e.schema, e.name));
        break;
      case 'MATERIALIZED VIEW':
        add('MATERIALIZED VIEW', q(e.schema, e.name));
        break;
      case 'SEQUENCE':
        add('SEQUENCE', q(e.schema, e.name));
        break;
      case 'FUNCTION':
      case 'PROCEDURE':
        add(e.type, routine(e.schema, e.name));
        break;
      case 'TYPE':
      case 'DOMAIN':
        add(e.type, q(e.schema, e.name));
        break;
    }
  }
  // Views first (they depend on tables), then tables, then what tables depended on.
  const views = other.filter((s) => s.startsWith('DROP VIEW') || s.startsWith('DROP MATERIALIZED'));
  const rest = other.filter((s) => !views.includes(s));
  const dropTables = tables.size ? [`DROP TABLE IF EXISTS ${[...tables.values()].join(', ')} CASCADE;`] : [];
  return [...views, ...dropTables, ...rest].map((s) => `${s}\n`).join('');
}

/** The schemas a dump creates, made if missing (public, or an agent's schema, may well exist). */
export function createSchemaStatements(schemas: string[]): string {
  return schemas.map((s) => `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s)};\n`).join('');
}
