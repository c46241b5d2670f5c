import { createHash } from 'node:crypto';
import os from 'node:os';
import type { Database } from '../db/connect.js';
import * as repo from '../db/inspect/index.js';
import type { ContextRow, ContextSummaryRow, FeedbackRow, Page, StatsRow, TaskRow, TaskSummaryRow, WebhookConfigRow } from '../db/types.js';
import { listAppliedMigrationNames } from '../db/migrationLog.js';
import { OperationError, RefusedError, UsageError } from '../errors.js';
import type { Migration } from './migrationFiles.js';
import { parseLimit, parseOwner, parsePaymentStatuses, parseRating, parseStatuses, parseTime, parseUuid } from './inspectInput.js';
import { requireLayout } from './schemas.js';
import { type SchemaStatsRow, type Skipped, allSources, fitContextFilter, fitSources, fitTaskFilter, mergeStats, schemaStats } from './inspectAll.js';

export type { SchemaStatsRow, Skipped } from './inspectAll.js';
import { maskSecrets } from '../lib/redact.js';

export { parseExportFormat, parseFormat, parseUuid } from './inspectInput.js';
// Webhook configs are shown (and archived) through the one secret-masking function.
export { maskSecrets } from '../lib/redact.js';

// Inspection use cases: flags in (as typed by the user), validated here, data out. Never prints.

// One detection per opened database (one catalog query), however many use cases a command
// runs on it: keyed by the Database object, so it lives exactly as long as the connection.
const sources = new WeakMap<Database, Promise<repo.Source>>();

/** The Layout a detected schema layout reads through. */
export function layoutFor(found: { layout: 'bindu-db' | 'bindu-server'; ownerDid: boolean }): repo.Layout {
  if (found.layout === 'bindu-db') return repo.BINDU_DB_LAYOUT;
  return found.ownerDid ? repo.BINDU_SERVER_LAYOUT : repo.BINDU_SERVER_LAYOUT_NO_OWNER;
}

/**
 * The data-access source of the configured schema: its layout detected once. A
 * schema with no recognised tables is a usage error listing the schemas that have some.
 */
export function sourceFor(db: Database): Promise<repo.Source> {
  let source = sources.get(db);
  if (!source) {
    source = requireLayout(db).then((found) => repo.sourceOf(db.sql, db.schema, layoutFor(found)));
    source.catch(() => sources.delete(db));
    sources.set(db, source);
  }
  return source;
}

/** The sources a command works on: every schema of a recognised layout (--all-schemas), or the configured one. */
export async function sourcesFor(db: Database, allSchemas = false): Promise<repo.Source[]> {
  return allSchemas ? allSources(db, layoutFor) : [await sourceFor(db)];
}

/**
 * The migrations not yet applied, by name only: through the plain SQL runner, so a read-only
 * command loads neither knex nor any migration module for it.
 */
export async function unappliedMigrations(db: Database, migrations: Migration[]): Promise<string[]> {
  const applied = new Set(await listAppliedMigrationNames(db.sql, db.schema));
  return migrations.map((m) => m.name).filter((name) => !applied.has(name));
}

export interface TaskListInput {
  status?: string;
  context?: string;
  /** Server layout with owner_did: only tasks of this owner DID. */
  owner?: string;
  /** Server layout: only tasks whose x402 payment status is one of these (comma-separated). */
  paymentStatus?: string;
  since?: string;
  until?: string;
  limit?: string;
  after?: string;
  /** Every schema of a recognised layout at once (items carry their schema). */
  allSchemas?: boolean;
}

/** A page of one schema, or across schemas (then items carry `schema` and `skipped` names the schemas left out). */
export type ListResult<T> = Page<T & { schema?: string }> & { skipped?: Skipped[] };

/** --since and --until, the first before the second. */
function timeRange(input: { since?: string; until?: string }): { since?: Date; until?: Date } {
  const since = input.since !== undefined ? parseTime(input.since, '--since') : undefined;
  const until = input.until !== undefined ? parseTime(input.until, '--until') : undefined;
  if (since && until && since >= until) throw new UsageError('--since must be earlier than --until');
  return { since, until };
}

function taskFilter(input: TaskListInput): repo.TaskFilter {
  return {
    statuses: input.status !== undefined ? parseStatuses(input.status) : undefined,
    contextId: input.context !== undefined ? parseUuid(input.context, '--context') : undefined,
    ...timeRange(input),
    ownerDid: input.owner !== undefined ? parseOwner(input.owner) : undefined,
    paymentStatuses: input.paymentStatus !== undefined ? parsePaymentStatuses(input.paymentStatus) : undefined,
  };
}

/** --owner on a table that records no owner (`ownerColumn` null): a usage error saying where owners are. */
function checkOwner(db: Database, layout: repo.Layout, ownerColumn: string | null, owner: string | undefined): void {
  if (owner === undefined || ownerColumn) return;
  throw new UsageError(
    `--owner: schema "${db.schema}" (${layout.name} layout) has no owner_did column`,
    layout.name === 'bindu-server' ? 'Bindu server schemas made before April 2026 record no owner; list the others with: bindu-db schemas list' : 'owners are recorded only in Bindu server schemas (bindu-db schemas list)',
  );
}

/** What only some layouts can answer, checked once the schema's layout is known. */
function checkTaskFilter(source: repo.Source, db: Database, filter: repo.TaskFilter): repo.TaskFilter {
  const { layout } = source;
  const where = `schema "${db.schema}" (${layout.name} layout)`;
  for (const s of filter.statuses ?? []) {
    if (!layout.statuses.includes(s)) {
      throw new UsageError(`status "${s}" does not exist in ${where}`, `valid statuses there: ${layout.statuses.join(', ')}; canceled, rejected and auth_required exist only in Bindu server schemas`);
    }
  }
  checkOwner(db, layout, layout.tasks.ownerDid, filter.ownerDid);
  if (filter.paymentStatuses && !layout.tasks.metadata) {
    throw new UsageError(`--payment-status: ${where} records no payment status`, 'x402 payment statuses are recorded only in Bindu server schemas (bindu-db schemas list)');
  }
  return filter;
}

/**
 * A fingerprint of a listing's filters as typed (durations such as --since 24h as written, so
 * the next page's command, typed a minute later, still matches), '' when there are none.
 */
function scopeOf(filter: object, input: { since?: string; until?: string }): string {
  const typed: Record<string, unknown> = { ...filter, since: input.since?.trim(), until: input.until?.trim() };
  const entries = Object.entries(typed)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, Array.isArray(v) ? [...v].sort() : v])
    .sort(([a], [b]) => String(a).localeCompare(String(b)));
  return entries.length ? createHash('sha256').update(JSON.stringify(entries)).digest('base64url').slice(0, 12) : '';
}

/** Paging of a listing: its cursor bound to the listing's kind, its filters (`filter`, as typed) and whether it spans schemas. */
export function pageOptions(input: { limit?: string; after?: string; since?: string; until?: string; allSchemas?: boolean }, kind: repo.CursorKind, filter: object): repo.PageOptions {
  const scope = scopeOf(filter, input);
  const across = input.allSchemas === true;
  return { limit: parseLimit(input.limit, 20), after: input.after !== undefined ? repo.decodeCursor(kind, input.after.trim(), scope, across) : undefined, acrossSchemas: across, scope };
}

// parse*: flags -> typed query, no database needed, so the CLI can call them before connecting
// (a typo is a usage error before any connection or embedded start-up).

export function parseTaskList(input: TaskListInput): { filter: repo.TaskFilter; page: repo.PageOptions } {
  const filter = taskFilter(input);
  return { filter, page: pageOptions(input, 'tasks', filter) };
}

export async function listTasks(db: Database, input: TaskListInput): Promise<ListResult<TaskSummaryRow>> {
  const { filter, page } = parseTaskList(input);
  if (page.acrossSchemas) {
    const fit = fitSources(await allSources(db, layoutFor), (s) => fitTaskFilter(s, filter));
    return { ...(await repo.listTasksAcross(fit.sources, fit.filters, page)), skipped: fit.skipped };
  }
  const source = await sourceFor(db);
  return repo.listTasks(source, checkTaskFilter(source, db, filter), page);
}

export interface TaskDetail extends TaskRow {
  /** For a failed task: the text of its last agent message (the reason the server or `tasks fail` gave); otherwise null. */
  failure_reason: string | null;
  feedback: FeedbackRow[];
  /** The config with secret-looking values masked, or null. */
  webhook_config: WebhookConfigRow | null;
}

export async function showTask(db: Database, id: string): Promise<TaskDetail> {
  const taskId = parseUuid(id, 'task id');
  const source = await sourceFor(db);
  const task = await repo.getTask(source, taskId);
  if (!task) throw new OperationError(`task ${taskId} not found`, 'list tasks with: bindu-db tasks list');
  const [feedback, webhook] = [await repo.feedbackOfTask(source, taskId), await repo.webhookConfigOfTask(source, taskId)];
  return { ...task, feedback, webhook_config: webhook ? { ...webhook, config: maskSecrets(webhook.config) as Record<string, unknown> } : null };
}

/** Exports every matching task (full rows) as JSON Lines, a batch at a time; returns the count. */
export function parseTaskExport(input: Omit<TaskListInput, 'limit' | 'after'>): repo.TaskFilter {
  return taskFilter(input);
}

export async function exportTasks(db: Database, input: Omit<TaskListInput, 'limit' | 'after'>, onBatch: (lines: string[]) => Promise<void>, opts: { onSkipped?: (skipped: Skipped[]) => void; signal?: AbortSignal } = {}): Promise<number> {
  const { signal } = opts;
  if (input.allSchemas) {
    // Schema after schema, each line with its schema: still one row at a time in memory.
    const fit = fitSources(await allSources(db, layoutFor), (s) => fitTaskFilter(s, taskFilter(input)));
    if (fit.skipped.length) opts.onSkipped?.(fit.skipped);
    let count = 0;
    for (const [i, source] of fit.sources.entries()) count += await repo.exportTasks(source, fit.filters[i], onBatch, { withSchema: true, signal });
    return count;
  }
  const source = await sourceFor(db);
  return repo.exportTasks(source, checkTaskFilter(source, db, taskFilter(input)), onBatch, { signal });
}

export interface ContextListInput {
  /** Server layout with owner_did: only contexts of this owner DID. */
  owner?: string;
  since?: string;
  until?: string;
  limit?: string;
  after?: string;
  allSchemas?: boolean;
}

export function parseContextList(input: ContextListInput): { filter: repo.ContextFilter; page: repo.PageOptions } {
  const filter: repo.ContextFilter = { ...timeRange(input), ownerDid: input.owner !== undefined ? parseOwner(input.owner) : undefined };
  return { filter, page: pageOptions(input, 'contexts', filter) };
}

export async function listContexts(db: Database, input: ContextListInput): Promise<ListResult<ContextSummaryRow>> {
  const { filter, page } = parseContextList(input);
  if (page.acrossSchemas) {
    const fit = fitSources(await allSources(db, layoutFor), (s) => fitContextFilter(s, filter));
    return { ...(await repo.listContextsAcross(fit.sources, filter, page)), skipped: fit.skipped };
  }
  const source = await sourceFor(db);
  checkOwner(db, source.layout, source.layout.contexts.ownerDid, filter.ownerDid);
  return repo.listContexts(source, filter, page);
}

export interface ContextDetail extends ContextRow {
  /** The newest tasks of the context (at most 100); `tasks_next` pages on with `tasks list --context`. */
  tasks: TaskSummaryRow[];
  tasks_next: string | null;
}

export async function showContext(db: Database, id: string): Promise<ContextDetail> {
  const contextId = parseUuid(id, 'context id');
  const source = await sourceFor(db);
  const context = await repo.getContext(source, contextId);
  if (!context) throw new OperationError(`context ${contextId} not found`, 'list contexts with: bindu-db contexts list');
  // The cursor must continue `tasks list --context <id>`, the command the CLI prints for it.
  const tasks = await repo.listTasks(source, { contextId }, { limit: 100, scope: scopeOf({ contextId }, {}) });
  return { ...context, tasks: tasks.items, tasks_next: tasks.next };
}

export interface FeedbackListInput {
  task?: string;
  rating?: string;
  minRating?: string;
  since?: string;
  until?: string;
  limit?: string;
  after?: string;
  allSchemas?: boolean;
}

export function parseFeedbackList(input: FeedbackListInput): { filter: repo.FeedbackFilter; page: repo.PageOptions } {
  if (input.rating !== undefined && input.minRating !== undefined) throw new UsageError('use only one of --rating and --min-rating');
  let ratings: number[] | undefined;
  if (input.rating !== undefined) ratings = [parseRating(input.rating, '--rating')];
  if (input.minRating !== undefined) {
    const min = parseRating(input.minRating, '--min-rating');
    ratings = [1, 2, 3, 4, 5].filter((r) => r >= min);
  }
  const filter = {
    taskId: input.task !== undefined ? parseUuid(input.task, '--task') : undefined,
    ratings,
    ...timeRange(input),
  };
  return { filter, page: pageOptions(input, 'feedback', filter) };
}

export async function listFeedback(db: Database, input: FeedbackListInput): Promise<ListResult<FeedbackRow>> {
  const { filter, page } = parseFeedbackList(input);
  if (page.acrossSchemas) return { ...(await repo.listFeedbackAcross(await allSources(db, layoutFor), filter, page)), skipped: [] };
  return repo.listFeedback(await sourceFor(db), filter, page);
}

export interface StatsInput {
  /** One set of numbers over every schema of a recognised layout. */
  allSchemas?: boolean;
  /** One row per schema (agent) instead; implies every schema. */
  bySchema?: boolean;
}

/** `stats`: of the configured schema, of all of them together, or one row per schema. */
export async function stats(db: Database, input?: StatsInput & { bySchema?: false }): Promise<StatsRow>;
export async function stats(db: Database, input: StatsInput): Promise<StatsRow | { items: SchemaStatsRow[] }>;
export async function stats(db: Database, input: StatsInput = {}): Promise<StatsRow | { items: SchemaStatsRow[] }> {
  if (input.bySchema) {
    const items: SchemaStatsRow[] = [];
    for (const source of await allSources(db, layoutFor)) items.push(await schemaStats(source));
    return { items };
  }
  if (!input.allSchemas) return repo.collectStats(await sourceFor(db));
  const all: StatsRow[] = [];
  for (const source of await allSources(db, layoutFor)) all.push(await repo.collectStats(source));
  return { ...mergeStats(all), schemas: all.length };
}

/** Rows per statement of seed generate on the embedded database: a fraction of a second each here. */
const EMBEDDED_PIECE = 2000;

/**
 * Bulk synthetic data (seed generate). Refuses on a database holding tasks unless `yes`.
 * Interrupted (`signal`), it throws abortError once the work has stopped: on PostgreSQL after the
 * running inserts were cancelled, on the embedded database after its one transaction rolled back.
 */
export async function generateData(db: Database, opts: { tasks: number; contexts?: number; yes: boolean; signal?: AbortSignal }): Promise<{ contexts: number; tasks: number; feedback: number; seconds: number }> {
  // Synthetic rows are written in our layout only: never into a schema Bindu's server owns.
  const source = await sourceFor(db);
  if (source.layout.name !== 'bindu-db') {
    throw new RefusedError(`schema "${db.schema}" holds Bindu server tables; seed generate writes only into bindu-db schemas`, 'choose one with --schema (bindu-db schemas list)');
  }
  if (!opts.yes && (await repo.hasInspectionData(source))) {
    throw new RefusedError(`${db.label} already holds tasks or contexts; generated rows would mix with them`, 'add --yes to insert anyway');
  }
  const started = process.hrtime.bigint();
  const contexts = opts.contexts ?? Math.max(1, Math.ceil(opts.tasks / 10));
  // On PostgreSQL the slices run on the server's cores at once; PGlite has one connection.
  const how = db.kind === 'postgres' ? { parallel: Math.min(4, os.availableParallelism()), cancel: db.cancel } : { pieces: EMBEDDED_PIECE };
  const result = await repo.generateSyntheticData(source, { tasks: opts.tasks, contexts, signal: opts.signal, ...how });
  await repo.analyzeInspectionTables(source, opts.signal);
  return { ...result, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
