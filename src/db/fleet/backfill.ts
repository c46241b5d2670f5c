import { table } from '../inspect/source.js';
import type { SqlRunner } from '../sqlRunner.js';

// owner_did backfill, as Bindu's scripts/backfill_owner_did.py does it (only rows whose owner is
// null; an owner once set is never overwritten), but in batches, each its own short
// transaction, so a live server's writes never wait long behind it.

export type OwnedTable = 'tasks' | 'contexts';

/** Rows of the table whose owner_did is null. */
export async function countUnowned(sql: SqlRunner, schema: string, name: OwnedTable): Promise<number> {
  const [row] = await sql.query<{ n: string }>(`select count(*) as n from ${table({ schema }, name)} where owner_did is null`);
  return Number(row.n);
}

/**
 * Sets owner_did on at most `batch` rows where it is null; returns how many it set. Rows a
 * server transaction holds are skipped (SKIP LOCKED), left for the next run.
 */
export async function backfillBatch(sql: SqlRunner, schema: string, name: OwnedTable, ownerDid: string, batch: number): Promise<number> {
  const t = table({ schema }, name);
  // A CTE runs once: an IN (subquery ... limit) may be planned as a subplan run again per row.
  const rows = await sql.query<{ id: string }>(
    `with picked as (select id from ${t} where owner_did is null limit ? for update skip locked)
     update ${t} x set owner_did = ? from picked where x.id = picked.id returning x.id`,
    [batch, ownerDid],
  );
  return rows.length;
}
