import { UsageError, quoted } from '../errors.js';
import { isoFieldsExist } from '../lib/isoTime.js';
import { ALL_TASK_STATUSES, type TaskStatus } from '../db/types.js';

// Pure validation of inspection flags: every bad value is a usage error naming the valid ones,
// and nothing unvalidated reaches the data-access module (which binds values anyway).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Any 32 hex digits in 8-4-4-4-12 form, whatever the version digit (Bindu's agent ids are not all v4). */
export function parseUuid(value: string, what: string): string {
  const v = value.trim();
  if (!UUID.test(v)) throw new UsageError(`${what} is not a UUID: ${quoted(value)}`, 'expected 32 hex digits as 8-4-4-4-12, e.g. 3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01');
  return v.toLowerCase();
}

/** A comma-separated list, lower-cased; an empty list or an empty item (`failed,,completed`) is a usage error. */
function listItems(value: string, what: string, hint: string): string[] {
  const items = value.split(',').map((s) => s.trim().toLowerCase());
  if (items.every((s) => s === '')) throw new UsageError(`${what} is empty`, hint);
  if (items.includes('')) throw new UsageError(`${what} ${quoted(value)} has an empty item`, hint);
  return items;
}

/** The server's names (and a common spelling) for our normalized statuses. */
const STATUS_ALIASES: Readonly<Record<string, TaskStatus>> = {
  submitted: 'pending',
  working: 'running',
  'input-required': 'input_required',
  'auth-required': 'auth_required',
  cancelled: 'canceled',
};

/** The hint of a bad --status: both vocabularies. */
export const VALID_STATUSES_HINT = `valid statuses: ${ALL_TASK_STATUSES.join(', ')} (or the Bindu server's names: submitted, working, input-required, auth-required; several: --status failed,running)`;

/**
 * "failed" or "failed,input_required", in either vocabulary (ours or the Bindu server's:
 * `working`, `input-required`...), as normalized statuses. Whether the schema's layout has them
 * is checked once it is known (canceled, rejected and auth_required exist only on the server's).
 */
export function parseStatuses(value: string): TaskStatus[] {
  const items = listItems(value, '--status', VALID_STATUSES_HINT);
  const statuses = items.map((s) => {
    const status = STATUS_ALIASES[s] ?? s.replace(/-/g, '_');
    if (!(ALL_TASK_STATUSES as readonly string[]).includes(status)) throw new UsageError(`unknown status ${quoted(s)}`, VALID_STATUSES_HINT);
    return status as TaskStatus;
  });
  return [...new Set(statuses)];
}

/** An owner DID as the server stores it (varchar(255)). */
export function parseOwner(value: string, what = '--owner'): string {
  const v = value.trim();
  if (v === '' || v.length > 255) throw new UsageError(`${what} must be a DID of 1 to 255 characters, not ${quoted(value)}`, `e.g. ${what} did:bindu:acme@example.com:echo_agent:438b4`);
  return v;
}

/** x402 payment statuses, comma-separated, as the server writes them (payment-failed, payment-orphaned...). */
export function parsePaymentStatuses(value: string): string[] {
  const hint = 'e.g. --payment-status payment-failed,payment-orphaned (values as the x402 extension writes them: payment-completed, payment-failed, payment-orphaned, ...)';
  const items = listItems(value, '--payment-status', hint);
  for (const s of items) if (!/^[a-z0-9][a-z0-9._-]{0,63}$/.test(s)) throw new UsageError(`invalid payment status ${quoted(s)}`, hint);
  return [...new Set(items)];
}

/** A whole number from 1 to max. */
export function parseLimit(value: string | undefined, fallback: number, what = '--limit', max = 10_000): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    throw new UsageError(`${what} must be a whole number from 1 to ${max}, not ${quoted(value)}`);
  }
  return n;
}

export function parseRating(value: string, what: string): number {
  const n = Number(value);
  if (!/^\s*[1-5]\s*$/.test(value)) throw new UsageError(`${what} must be a whole number from 1 to 5, not ${quoted(value)}`);
  return n;
}

/** 0001-01-01T00:00:00Z. */
const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const UNITS: Record<string, number> = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 };
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?)?$/i;

/** An ISO 8601 date or date-time, or a duration before now: 30m, 24h, 7d (also s, w). */
export function parseTime(value: string, what: string, now = new Date()): Date {
  const v = value.trim();
  const duration = /^(\d+)\s*([smhdw])$/i.exec(v);
  if (duration) {
    const t = now.getTime() - Number(duration[1]) * UNITS[duration[2].toLowerCase()];
    // Further back than year 1 is no time PostgreSQL (or Date) can compare with.
    if (t >= EARLIEST) return new Date(t);
    throw new UsageError(`${what}: ${quoted(value)} reaches back before the year 1`, 'use a shorter duration, or an ISO date');
  }
  if (ISO.test(v) && isoFieldsExist(v)) {
    const t = Date.parse(v.replace(' ', 'T'));
    if (t >= EARLIEST) return new Date(t);
  }
  throw new UsageError(`${what}: cannot read ${quoted(value)} as a time`, 'use an ISO date or date-time (2025-06-14, 2025-06-14T09:30:00Z) or a duration before now (30m, 24h, 7d)');
}

/** Stream formats of the list commands. */
export type ListFormat = 'table' | 'json' | 'jsonl' | 'csv';

export function parseFormat(format: string | undefined, json: boolean | undefined): ListFormat {
  if (format === undefined) return json ? 'json' : 'table';
  const f = format.trim().toLowerCase();
  if (!['table', 'json', 'jsonl', 'csv'].includes(f)) throw new UsageError(`unknown --format ${quoted(format)}`, 'valid formats: table, json, jsonl, csv');
  if (json && f !== 'json') throw new UsageError(`--json and --format ${f} contradict each other`, 'use one of them');
  return f as ListFormat;
}

/**
 * tasks export streams JSON Lines, one task per line, and nothing else: --json (one document
 * everywhere else) would not be what it says, so it is refused in favour of --format jsonl.
 */
export function parseExportFormat(format: string | undefined, json: boolean | undefined): 'jsonl' {
  const hint = 'tasks export streams JSON Lines (one task per line): use --format jsonl, or leave both out';
  if (json) throw new UsageError('tasks export does not take --json', hint);
  if (format !== undefined && format.trim().toLowerCase() !== 'jsonl') throw new UsageError(`tasks export has no --format ${quoted(format)}`, hint);
  return 'jsonl';
}
