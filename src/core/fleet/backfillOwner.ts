import type { Database } from '../../db/connect.js';
import { type OwnedTable, backfillBatch, countUnowned } from '../../db/fleet/backfill.js';
import { CancelledError, UsageError } from '../../errors.js';
import { parseOwner } from '../inspectInput.js';
import { selectSchemas } from './doctor.js';

export interface BackfillSchemaResult {
  schema: string;
  /** Rows given the owner (with dry_run: rows that would be). */
  tasks: number;
  contexts: number;
}

export interface BackfillResult {
  owner_did: string;
  dry_run: boolean;
  schemas: BackfillSchemaResult[];
  /** Server schemas without owner_did columns (run `schemas repair` first); ours record no owner. */
  skipped: Array<{ schema: string; reason: string }>;
}

const TABLES: OwnedTable[] = ['tasks', 'contexts'];

/** Validates the flags before anything connects. */
export function parseBackfill(input: { ownerDid?: string; batch?: number }): { ownerDid: string; batch: number } {
  if (input.ownerDid === undefined) throw new UsageError('--owner-did is required', 'e.g. bindu-db schemas backfill-owner --owner-did did:bindu:legacy');
  return { ownerDid: parseOwner(input.ownerDid, '--owner-did'), batch: input.batch ?? 1000 };
}

/**
 * `schemas backfill-owner`: owner_did := the DID where it is null, on tasks and contexts of every
 * selected server schema that has the column. Ctrl-C stops between batches: what was set stays,
 * and running it again goes on.
 */
export async function backfillOwner(db: Database, input: { ownerDid?: string; batch?: number; schemas?: readonly string[]; dryRun?: boolean; signal?: AbortSignal; onBatch?: (schema: string, table: OwnedTable, rows: number) => void }): Promise<BackfillResult> {
  const { ownerDid, batch } = parseBackfill(input);
  const result: BackfillResult = { owner_did: ownerDid, dry_run: input.dryRun === true, schemas: [], skipped: [] };
  for (const target of await selectSchemas(db, input.schemas)) {
    if (target.layout !== 'bindu-server') {
      result.skipped.push({ schema: target.schema, reason: 'bindu-db layout: records no owner' });
      continue;
    }
    if (!target.ownerDid) {
      result.skipped.push({ schema: target.schema, reason: 'no owner_did column (run bindu-db schemas repair first)' });
      continue;
    }
    const counts: BackfillSchemaResult = { schema: target.schema, tasks: 0, contexts: 0 };
    for (const name of TABLES) {
      if (input.dryRun) {
        counts[name] = await countUnowned(db.sql, target.schema, name);
        continue;
      }
      for (;;) {
        if (input.signal?.aborted) throw new CancelledError(`backfill interrupted in ${target.schema}.${name} after ${counts[name]} rows; run it again to go on`);
        const n = await backfillBatch(db.sql, target.schema, name, ownerDid, batch);
        if (n === 0) break;
        counts[name] += n;
        input.onBatch?.(target.schema, name, n);
      }
    }
    result.schemas.push(counts);
  }
  return result;
}
