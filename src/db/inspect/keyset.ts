import { UsageError } from '../../errors.js';
import { isoFieldsExist } from '../../lib/isoTime.js';
import type { Page } from '../types.js';

// Keyset pagination: a page ends with the (created_at, id) of its last row, and the next page
// starts strictly after it. The cursor is opaque to users (base64url JSON) but carries the
// timestamp with PostgreSQL's microseconds: a millisecond-rounded one would skip rows.
// A page across schemas (--all-schemas) is ordered by (created_at, schema, id), newest first,
// and its cursor carries the schema too.

export type CursorKind = 'tasks' | 'contexts' | 'feedback';

export interface Keyset {
  /** created_at as UTC ISO 8601 with microseconds, straight from SQL. */
  ts: string;
  /** A UUID, or the server layout's serial feedback id as digits. */
  id: string;
  /** The schema of the row, for a page across schemas; absent on one schema's page. */
  schema?: string;
}

const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SERIAL = /^\d{1,10}$/;

/**
 * `scope` fingerprints the filters a page was listed with: a cursor continues only the listing
 * it came from (a `--status failed` cursor under `--status completed` would start mid-way).
 */
export function encodeCursor(kind: CursorKind, key: Keyset, scope = ''): string {
  return Buffer.from(JSON.stringify({ k: kind, t: key.ts, i: key.id, ...(key.schema !== undefined ? { s: key.schema } : {}), ...(scope ? { f: scope } : {}) })).toString('base64url');
}

/**
 * The keyset of a cursor printed by a `kind list` with the same filters; anything else is a
 * usage error. `acrossSchemas`: the page is one of --all-schemas, whose cursors carry a schema
 * (and only theirs do).
 */
export function decodeCursor(kind: CursorKind, cursor: string, scope = '', acrossSchemas = false): Keyset {
  const bad = (why: string) =>
    new UsageError(`invalid --after cursor: ${why}`, `pass the cursor printed after a page of "${kind} list" (the "next" field with --json)`);
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a bindu-db cursor');
  }
  const c = parsed as { k?: unknown; t?: unknown; i?: unknown; s?: unknown; f?: unknown } | null;
  if (typeof c !== 'object' || c === null || typeof c.t !== 'string' || typeof c.i !== 'string' || !TS.test(c.t) || !(UUID.test(c.i) || (kind === 'feedback' && SERIAL.test(c.i)))) throw bad('not a bindu-db cursor');
  if (c.k !== kind) throw bad(`it belongs to "${String(c.k)} list", not "${kind} list"`);
  if (c.s !== undefined && typeof c.s !== 'string') throw bad('not a bindu-db cursor');
  const key: Keyset = { ts: c.t, id: c.i, ...(c.s !== undefined ? { schema: c.s } : {}) };
  const given = typeof c.f === 'string' ? c.f : '';
  // Only the exact text we print: a truncated, padded or edited copy must not decode to a neighbour.
  if (!isoFieldsExist(c.t) || encodeCursor(kind, key, given) !== cursor) throw bad('not a bindu-db cursor (was it cut or changed?)');
  if (acrossSchemas && key.schema === undefined) throw bad(`it comes from "${kind} list" on one schema; drop --all-schemas, or start again without --after`);
  if (!acrossSchemas && key.schema !== undefined) throw bad(`it comes from "${kind} list --all-schemas"; add --all-schemas`);
  if (given !== scope) {
    throw new UsageError('invalid --after cursor: it was printed for other filters', `repeat the filters (--status, --since, ...) of the listing that printed it, or start again without --after`);
  }
  return key;
}

/**
 * The id of a keyset for a table whose ids are of `type`: a cursor from a schema of the other
 * layout (a serial id where UUIDs are, or the reverse) is a usage error, not a cast failure.
 */
export function keysetId(key: Keyset, type: 'uuid' | 'integer', kind: CursorKind): string {
  if (type === 'uuid' ? UUID.test(key.id) : SERIAL.test(key.id)) return key.id;
  throw new UsageError('invalid --after cursor: it comes from a schema of another layout', `pass the cursor printed after a page of "${kind} list" on this schema`);
}

/**
 * "Strictly after the cursor", newest first, on WHERE `w`. On one schema's page: (created_at, id)
 * below the cursor's. On a page across schemas (`schema` is the branch's own, a constant), the
 * order is (created_at, schema, id), so a schema sorting before the cursor's keeps the cursor's
 * timestamp too, one after it does not, and only the cursor's own schema compares ids: each
 * branch stays a range on its (created_at, id) index.
 */
export function keysetAfter(w: { add(sql: string, ...values: unknown[]): unknown }, ts: string, id: string, idType: 'uuid' | 'integer', after: Keyset, kind: CursorKind, schema?: string): void {
  if (schema === undefined || schema === after.schema) {
    w.add(`(${ts}, ${id}) < (?::timestamptz, ?::${idType})`, after.ts, keysetId(after, idType, kind));
  } else {
    w.add(`${ts} ${schema < (after.schema ?? '') ? '<=' : '<'} ?::timestamptz`, after.ts);
  }
}

/** Splits the limit+1 rows of a page query into items and the next cursor (with the row's schema on a page across schemas). */
export function toPage<R extends { cursor_ts: string }, T>(rows: R[], page: { limit: number; scope?: string }, kind: CursorKind, keyOf: (r: R) => { id: string; schema?: string }, map: (r: R) => T): Page<T> {
  const more = rows.length > page.limit;
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items: items.map(map), next: more && last ? encodeCursor(kind, { ts: last.cursor_ts, ...keyOf(last) }, page.scope) : null };
}
