import { UsageError } from '../../errors.js';
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

export function encodeCursor(kind: CursorKind, key: Keyset): string {
  return Buffer.from(JSON.stringify({ k: kind, t: key.ts, i: key.id, ...(key.schema !== undefined ? { s: key.schema } : {}) })).toString('base64url');
}

/**
 * The keyset of a cursor printed by a `kind list`; anything else is a usage error. `acrossSchemas`:
 * the page is one of --all-schemas, whose cursors carry a schema (and only theirs do).
 */
export function decodeCursor(kind: CursorKind, cursor: string, acrossSchemas = false): Keyset {
  const bad = (why: string) =>
    new UsageError(`invalid --after cursor: ${why}`, `pass the cursor printed after a page of "${kind} list" (the "next" field with --json)`);
  let parsed: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error();
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a bindu-db cursor');
  }
  const c = parsed as { k?: unknown; t?: unknown; i?: unknown; s?: unknown } | null;
  if (typeof c !== 'object' || c === null || typeof c.t !== 'string' || typeof c.i !== 'string' || !TS.test(c.t) || !(UUID.test(c.i) || (kind === 'feedback' && SERIAL.test(c.i)))) throw bad('not a bindu-db cursor');
  if (c.k !== kind) throw bad(`it belongs to "${String(c.k)} list", not "${kind} list"`);
  if (c.s !== undefined && typeof c.s !== 'string') throw bad('not a bindu-db cursor');
  const key: Keyset = { ts: c.t, id: c.i, ...(c.s !== undefined ? { schema: c.s } : {}) };
  // Only the exact text we print: a truncated or padded copy must not decode to a neighbour.
  if (Number.isNaN(Date.parse(c.t)) || encodeCursor(kind, key) !== cursor) throw bad('not a bindu-db cursor (was it cut or changed?)');
  if (acrossSchemas && key.schema === undefined) throw bad(`it comes from "${kind} list" on one schema; drop --all-schemas, or start again without --after`);
  if (!acrossSchemas && key.schema !== undefined) throw bad(`it comes from "${kind} list --all-schemas"; add --all-schemas`);
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

/** SQL giving a timestamptz column as the cursor's UTC text with microseconds. */
export function cursorTsSql(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** Splits the limit+1 rows of a page query into items and the next cursor (with the row's schema on a page across schemas). */
export function toPage<R extends { cursor_ts: string }, T>(rows: R[], limit: number, kind: CursorKind, keyOf: (r: R) => { id: string; schema?: string }, map: (r: R) => T): Page<T> {
  const more = rows.length > limit;
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), next: more && last ? encodeCursor(kind, { ts: last.cursor_ts, ...keyOf(last) }) : null };
}
