import type { Database } from '../db/connect.js';
import { type DetectedLayout, type SchemaInfo, detectLayout, listSchemas } from '../db/layouts/detect.js';
import { UsageError } from '../errors.js';

export type { DetectedLayout, LayoutName, SchemaInfo } from '../db/layouts/detect.js';

/** Every schema holding a recognised layout (ours or Bindu's server's), with task counts. */
export async function schemas(db: Database): Promise<SchemaInfo[]> {
  return listSchemas(db.sql);
}

/**
 * The layout of the configured schema (one catalog query, on the knex-free read path). A
 * schema with no recognised tables is a usage error that lists the schemas that have some.
 */
export async function requireLayout(db: Database): Promise<DetectedLayout> {
  const found = await detectLayout(db.sql, db.schema);
  if (found) return found;
  const known = await listSchemas(db.sql);
  throw new UsageError(
    `schema "${db.schema}" holds no Bindu tables`,
    known.length
      ? `schemas that do: ${known.map((s) => `${s.schema} (${s.layout})`).join(', ')}; choose one with --schema`
      : 'this database has no Bindu tables yet: run bindu-db migrate up',
  );
}
