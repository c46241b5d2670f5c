import type { Database } from '../db/connect.js';
import { type LayoutName, type SchemaInfo, detectLayout, listSchemas } from '../db/layouts.js';
import { UsageError } from '../errors.js';

export type { LayoutName, SchemaInfo } from '../db/layouts.js';

/** Every schema holding a recognised layout (ours or Bindu's server's), with task counts. */
export async function schemas(db: Database): Promise<SchemaInfo[]> {
  return listSchemas(db.knex);
}

/**
 * The layout of the configured schema. A schema with no recognised tables is a usage error
 * that lists the schemas that have some.
 */
export async function requireLayout(db: Database): Promise<{ layout: LayoutName; ownerDid: boolean }> {
  const found = await detectLayout(db.knex, db.schema);
  if (found) return found;
  const known = await listSchemas(db.knex);
  throw new UsageError(
    `schema "${db.schema}" holds no Bindu tables`,
    known.length
      ? `schemas that do: ${known.map((s) => `${s.schema} (${s.layout})`).join(', ')}; choose one with --schema`
      : 'this database has no Bindu tables yet: run bindu-db migrate up',
  );
}
