import { loadPg } from './pgDriver.js';

// Every timestamp read from the database, on PostgreSQL and the embedded database alike, comes
// out in one form: UTC, 'Z', the database's microseconds (2026-12-01T06:58:34.251487Z). node-pg
// and PGlite would give a Date, which keeps milliseconds only (and JSON built by the server
// says +00:00): lists, shows and exports would disagree with each other and with the cursors.

/** A timestamp as every command shows it: UTC ISO 8601 with microseconds, e.g. 2026-12-01T06:58:34.251487Z. */
export type Timestamp = string;

/** timestamptz and timestamp. */
const TIMESTAMP_OIDS = [1184, 1114];

// PostgreSQL's ISO output (DateStyle ISO, any TimeZone): 2026-12-01 07:58:34.251487+01, +05:30, +00:19:32.
const PG_TEXT = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?:([+-])(\d\d)(?::(\d\d))?(?::(\d\d))?)?$/;

/** PostgreSQL's text for a timestamp as a Timestamp; infinity and BC dates as the server wrote them. */
export function utcTimestamp(text: string): Timestamp {
  const m = PG_TEXT.exec(text);
  if (!m) return text;
  const [, y, mo, d, h, mi, s, fraction = '', sign, oh = '0', om = '0', os = '0'] = m;
  const offsetMs = sign ? (sign === '-' ? -1 : 1) * (Number(oh) * 3600 + Number(om) * 60 + Number(os)) * 1000 : 0;
  const utc = new Date(0);
  utc.setUTCFullYear(Number(y), Number(mo) - 1, Number(d)); // setUTCFullYear: years 0-99 are not 19xx
  utc.setUTCHours(Number(h), Number(mi), Number(s), 0);
  return `${new Date(utc.getTime() - offsetMs).toISOString().slice(0, 19)}.${fraction.padEnd(6, '0')}Z`;
}

/** SQL giving a timestamptz expression as a Timestamp (for JSON the server builds itself). */
export function utcTimestampSql(expression: string): string {
  return `to_char(${expression} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/**
 * node-pg's `types` setting: our timestamp parser, pg's own for every other type. pg is
 * required only when a query result asks, so declaring the setting loads nothing.
 */
export const pgTimestampTypes = {
  getTypeParser(oid: number, format: 'text' | 'binary' = 'text'): unknown {
    if (format === 'text' && TIMESTAMP_OIDS.includes(oid)) return utcTimestamp;
    return loadPg().types.getTypeParser(oid, format as 'text');
  },
};

/** PGlite's `parsers` setting. */
export const pgliteTimestampParsers: Record<number, (text: string) => Timestamp> = Object.fromEntries(TIMESTAMP_OIDS.map((oid) => [oid, utcTimestamp]));
