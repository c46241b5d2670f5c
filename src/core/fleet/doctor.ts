import type { Database } from '../../db/connect.js';
import { readSchemaShape } from '../../db/fleet/catalog.js';
import { type DetectedLayout, type LayoutName, detectLayouts } from '../../db/layouts/detect.js';
import { referenceFor } from '../../db/layouts/reference.js';
import { UsageError } from '../../errors.js';
import { schemaNameForDid } from '../../lib/didSchema.js';
import { type Finding, compareSchema } from './compare.js';

export type { Finding, Fix, Severity } from './compare.js';

export interface SchemaTarget extends DetectedLayout {
  schema: string;
}

export interface SchemaDiagnosis {
  schema: string;
  layout: LayoutName;
  /** What the schema is compared with. */
  reference: string;
  /** The differences; how repair would fix them is repair's business (planRepair). */
  findings: Array<Omit<Finding, 'fix'>>;
}

export interface DoctorResult {
  schemas: SchemaDiagnosis[];
  errors: number;
  warnings: number;
}

/**
 * The schemas a fleet command works on: every schema of a recognised layout, or those named
 * (a schema name or an agent's DID, as the server derives its schema from it). A named schema
 * without Bindu tables is a usage error.
 */
export async function selectSchemas(db: Database, names: readonly string[] = []): Promise<SchemaTarget[]> {
  const found = await detectLayouts(db.sql);
  if (names.length === 0) return found;
  const wanted = [...new Set(names.map((n) => (n.startsWith('did:') ? schemaNameForDid(n) : n)))];
  return wanted.map((name) => {
    const hit = found.find((s) => s.schema === name);
    if (!hit) {
      throw new UsageError(`schema "${name}" holds no Bindu tables`, found.length ? `schemas that do: ${found.map((s) => s.schema).join(', ')}` : 'this database has no Bindu tables');
    }
    return hit;
  });
}

/** One schema against its layout's reference. Read-only: catalog queries only. */
export async function diagnoseSchema(db: Database, target: Pick<SchemaTarget, 'schema' | 'layout'>): Promise<SchemaDiagnosis> {
  const ref = referenceFor(target.layout);
  const findings = compareSchema(await readSchemaShape(db.sql, target.schema), ref).map(({ fix: _, ...f }) => f);
  return { schema: target.schema, layout: target.layout, reference: ref.source, findings };
}

/** `schemas doctor`: every selected schema's differences from what its layout should be. */
export async function doctor(db: Database, names: readonly string[] = []): Promise<DoctorResult> {
  const schemas: SchemaDiagnosis[] = [];
  for (const target of await selectSchemas(db, names)) schemas.push(await diagnoseSchema(db, target));
  const all = schemas.flatMap((s) => s.findings);
  return { schemas, errors: all.filter((f) => f.severity === 'error').length, warnings: all.filter((f) => f.severity === 'warning').length };
}
