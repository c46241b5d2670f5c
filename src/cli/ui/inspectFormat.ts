import type { ChalkInstance } from 'chalk';
import type { ContextSummaryRow, FeedbackRow, StatsRow, TaskStatus, TaskSummaryRow } from '../../db/types.js';
import type { ContextDetail, SchemaStatsRow, TaskDetail } from '../../core/inspect.js';
import { describePart, messageTime, messagesOf, partsOf } from '../../core/messages.js';
import { formatTable, formatTime, plural, truncate, visible, visibleData, visibleLine } from './format.js';

// Pure formatting of the inspection results: data in, lines out. Every text read from the
// database goes through visibleData (or visible, for JSON blocks) before it is laid out, so no
// terminal escape it holds reaches the screen; --json, JSONL and CSV print the data as it is.

/** A status coloured by its meaning; `shown` is the text to print (the server's own state word, when it differs). */
export function colorStatus(c: ChalkInstance, status: TaskStatus | string, shown = status): string {
  const paint: Record<string, (s: string) => string> = {
    completed: c.green, failed: c.red, rejected: c.red, running: c.cyan, pending: c.yellow,
    input_required: c.magenta, auth_required: c.magenta, canceled: c.dim,
  };
  return (paint[status] ?? ((s: string) => s))(shown);
}

/** Our status, with the server's own state beside it where the words differ: `running (working)`. */
export function statusText(c: ChalkInstance, t: { status: string; state?: string | null }): string {
  return colorStatus(c, t.status, t.state !== undefined && t.state !== null && t.state !== t.status ? `${t.status} (${t.state})` : t.status);
}

/** Stars for a rating; the server does not enforce 1-5, so anything else is shown as the number. */
function stars(rating: number | null): string {
  if (rating === null) return '-';
  return Number.isInteger(rating) && rating >= 1 && rating <= 5 ? `${'★'.repeat(rating)}${'☆'.repeat(5 - rating)}` : String(rating);
}

const short = (id: string) => `${id.slice(0, 8)}…`;

/** A SCHEMA column first, when the rows come from several schemas (--all-schemas). */
export function withSchema(head: string[], rows: string[][], items: object[]): [string[], string[][]] {
  if (!items.some((x) => 'schema' in x)) return [head, rows];
  return [['SCHEMA', ...head], rows.map((r, i) => [visibleLine(String((items[i] as { schema?: string }).schema ?? '')), ...r])];
}

export function formatTaskList(read: TaskSummaryRow[], c: ChalkInstance, width?: number): string[] {
  if (read.length === 0) return ['No tasks match.'];
  const items = visibleData(read);
  // Owner and payment columns only when a row of the page has one (server layout).
  const owner = items.some((t) => t.owner_did);
  const payment = items.some((t) => t.payment_status);
  const rows = items.map((t) => [
    t.task_id,
    statusText(c, t),
    short(t.context_id),
    ...(owner ? [truncate(t.owner_did ?? '', 40)] : []),
    formatTime(t.created_at),
    formatTime(t.updated_at),
    String(t.message_count),
    ...(payment ? [t.payment_status ?? ''] : []),
    t.failure_reason ? c.red(truncate(t.failure_reason, 60)) : '',
  ]);
  const head = ['TASK', 'STATUS', 'CONTEXT', ...(owner ? ['OWNER'] : []), 'CREATED', 'UPDATED', 'MSGS', ...(payment ? ['PAYMENT'] : []), 'FAILURE REASON'];
  const [h, r] = withSchema(head, rows, items);
  // Owner and failure reason give way first: ids and times are what people copy.
  return formatTable(h, r, c.bold, { width, shrink: [h.indexOf('OWNER'), h.length - 1].filter((i) => i >= 0) });
}

export { describePart } from '../../core/messages.js';

/** A history or context messages array as a readable timeline: time, role, then each part indented. */
export function formatTimeline(messages: unknown, c: ChalkInstance): string[] {
  if (!Array.isArray(messages) || messages.length === 0) return ['  (no messages)'];
  return messagesOf(visibleData(messages)).flatMap((m) => {
    const time = messageTime(m);
    const role = m.role === 'agent' ? c.cyan('agent') : m.role === 'user' ? c.green('user') : visibleLine(String(m.role ?? '?'));
    const text = partsOf(m).map(describePart).flatMap((t) => t.split('\n'));
    return [`  ${time ? c.dim(visibleLine(formatTime(time))) + ' ' : ''}${role}`, ...(text.length ? text : ['(no parts)']).map((l) => `      ${l}`)];
  });
}

/** A JSON value as indented lines: JSON escapes C0 controls itself, `visible` the rest. */
function json(value: unknown): string[] {
  return JSON.stringify(value, null, 2).split('\n').map((l) => `  ${visible(l)}`);
}

export function formatTaskDetail(raw: TaskDetail, c: ChalkInstance): string[] {
  const t = visibleData(raw);
  const lines = [
    `${c.bold('Task')}      ${t.task_id}`,
    `${c.bold('Status')}    ${statusText(c, t)}${t.state_timestamp ? c.dim(` since ${formatTime(t.state_timestamp)}`) : ''}`,
    ...(t.failure_reason ? [`${c.bold('Failure')}   ${c.red(t.failure_reason)}`] : []),
    `${c.bold('Context')}   ${t.context_id}`,
    ...(t.owner_did !== undefined ? [`${c.bold('Owner')}     ${t.owner_did === null ? c.dim('(not recorded)') : visibleLine(t.owner_did)}`] : []),
    `${c.bold('Created')}   ${formatTime(t.created_at)}`,
    `${c.bold('Updated')}   ${formatTime(t.updated_at)}`,
    '',
    c.bold(`History (${plural(Array.isArray(t.history) ? t.history.length : 0, 'message')})`),
    ...formatTimeline(t.history, c),
    '',
    c.bold('Artifacts'),
    ...(raw.artifacts && Object.keys(raw.artifacts).length ? json(raw.artifacts) : ['  (none)']),
    ...(raw.metadata !== undefined ? ['', c.bold('Metadata'), ...(Object.keys(raw.metadata ?? {}).length ? json(raw.metadata) : ['  (none)'])] : []),
    '',
    c.bold(`Feedback (${t.feedback.length})`),
    ...(t.feedback.length
      ? t.feedback.map((f) => `  ${formatTime(f.created_at)}  ${stars(f.rating)}  ${truncate(f.feedback ?? '', 80)}`)
      : ['  (none)']),
    '',
    c.bold('Webhook'),
    ...(raw.webhook_config ? json(raw.webhook_config.config) : ['  (none)']),
  ];
  return lines;
}

export function formatContextList(read: ContextSummaryRow[], c: ChalkInstance, width?: number): string[] {
  if (read.length === 0) return ['No contexts match.'];
  const items = visibleData(read);
  const rows = items.map((x) => [
    x.context_id,
    String(x.task_count),
    String(x.message_count),
    formatTime(x.created_at),
    formatTime(x.last_activity_at),
    truncate(typeof x.metadata?.title === 'string' ? x.metadata.title : '', 40),
  ]);
  const fromTasks = items.some((x) => x.messages_from === 'tasks.history');
  const [h, r] = withSchema(['CONTEXT', 'TASKS', fromTasks ? 'MSGS*' : 'MSGS', 'CREATED', 'LAST ACTIVITY', 'TITLE'], rows, items);
  return [
    ...formatTable(h, r, c.bold, { width, shrink: [h.length - 1] }),
    ...(fromTasks ? [c.dim("* messages in the contexts' tasks' history (Bindu's server keeps the conversation there)")] : []),
  ];
}

export function formatContextDetail(raw: ContextDetail, c: ChalkInstance, width?: number): string[] {
  const x = visibleData(raw);
  return [
    `${c.bold('Context')}   ${x.context_id}`,
    ...(x.owner_did !== undefined ? [`${c.bold('Owner')}     ${x.owner_did === null ? c.dim('(not recorded)') : visibleLine(x.owner_did)}`] : []),
    `${c.bold('Created')}   ${formatTime(x.created_at)}`,
    `${c.bold('Updated')}   ${formatTime(x.updated_at)}`,
    '',
    c.bold('Metadata'),
    ...(Object.keys(raw.metadata ?? {}).length ? json(raw.metadata) : ['  (none)']),
    '',
    c.bold(`Messages (${Array.isArray(x.messages) ? x.messages.length : 0}${x.messages_from === 'tasks.history' ? ", from its tasks' history" : ''})`),
    ...formatTimeline(x.messages, c),
    '',
    c.bold(`Tasks (${x.tasks.length}${x.tasks_next ? '+' : ''})`),
    ...formatTaskList(x.tasks, c, width && width - 2).map((l) => `  ${l}`),
  ];
}

export function formatFeedbackList(read: FeedbackRow[], c: ChalkInstance, width?: number): string[] {
  if (read.length === 0) return ['No feedback matches.'];
  const items = visibleData(read);
  const rows = items.map((f) => [f.feedback_id, f.task_id, f.rating === null ? '-' : String(f.rating), formatTime(f.created_at), truncate(f.feedback ?? '', 60)]);
  const [h, r] = withSchema(['FEEDBACK', 'TASK', 'RATING', 'CREATED', 'TEXT'], rows, items);
  return formatTable(h, r, c.bold, { width, shrink: [h.length - 1] });
}

/** A horizontal bar of `width` cells for value/max, with eighth-block precision. */
export function bar(value: number, max: number, width = 40): string {
  if (max <= 0 || value <= 0) return '';
  const eighths = Math.max(1, Math.round((value / max) * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + (eighths % 8 ? '▏▎▍▌▋▊▉'[(eighths % 8) - 1] : '');
}

function bytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatStats(raw: StatsRow, c: ChalkInstance, width?: number): string[] {
  const s = visibleData(raw);
  // A bar takes what the terminal leaves beside its line's `prefix` characters, up to `max`.
  const barWidth = (max: number, prefix: number) => (width ? Math.max(1, Math.min(max, width - prefix - 1)) : max);
  const total = Object.values(s.tasks_by_status).reduce((a, b) => a + b, 0);
  const maxDay = Math.max(0, ...s.tasks_per_day.map((d) => d.count));
  const statusWidth = Math.max(...Object.keys(s.tasks_by_status).map((k) => k.length));
  return [
    ...(s.schemas !== undefined ? [c.bold(`All ${plural(s.schemas, 'schema')}`), ''] : []),
    c.bold(`Tasks by status (${total} in all)`),
    ...Object.entries(s.tasks_by_status).map(([k, n]) => `  ${colorStatus(c, k)}${' '.repeat(Math.max(0, statusWidth - k.length))}  ${String(n).padStart(9)}`),
    `  failure rate ${s.failure_rate === null ? '-' : `${(s.failure_rate * 100).toFixed(2)}%`}`,
    // The server's own words, for operators who know its states.
    ...(s.tasks_by_state ? [`  server states: ${Object.entries(s.tasks_by_state).map(([k, n]) => `${k} ${n}`).join(', ')}`] : []),
    '',
    c.bold('Tasks per day (UTC, last 14 days)'),
    ...s.tasks_per_day.map((d) => `  ${d.date}  ${String(d.count).padStart(9)}  ${c.cyan(bar(d.count, maxDay, barWidth(40, 25)))}`),
    '',
    c.bold(`Feedback (${s.feedback.count}${s.feedback.average_rating === null ? '' : `, average rating ${s.feedback.average_rating}`})`),
    ...Object.entries(s.feedback.by_rating).map(([r, n]) => `  ${(Number.isInteger(Number(r)) && Number(r) >= 1 && Number(r) <= 5 ? '★'.repeat(Number(r)) : r).padEnd(5)}  ${String(n).padStart(9)}  ${c.yellow(bar(n, Math.max(...Object.values(s.feedback.by_rating)), barWidth(30, 20)))}`),
    '',
    c.bold('Tables'),
    ...formatTable(['TABLE', 'ROWS', 'SIZE'], Object.entries(s.table_sizes).map(([t, z]) => [t, String(z.rows), bytes(z.bytes)]), undefined, { width: width && width - 2, shrink: [0] }).map((l) => `  ${l}`),
  ];
}

/** `stats --by-schema`: one line per agent. */
export function formatSchemaStats(items: SchemaStatsRow[], c: ChalkInstance): string[] {
  if (items.length === 0) return ['No schema holds Bindu tables.'];
  const statuses = [...new Set(items.flatMap((s) => Object.keys(s.tasks_by_status)))];
  const rows = items.map((s) => [
    visibleLine(s.schema),
    s.layout,
    String(s.tasks),
    ...statuses.map((k) => String(s.tasks_by_status[k] ?? 0)),
    s.failure_rate === null ? '-' : `${(s.failure_rate * 100).toFixed(2)}%`,
    formatTime(s.last_activity),
  ]);
  return formatTable(['SCHEMA', 'LAYOUT', 'TASKS', ...statuses.map((k) => k.toUpperCase()), 'FAILED %', 'LAST ACTIVITY'], rows, c.bold);
}

/** JSON-ready copy of a row: Dates as ISO strings. */
export function plain(row: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));
}

/** One JSON document per line. */
export function toJsonLines(items: object[]): string[] {
  return items.map((r) => JSON.stringify(plain(r)));
}

/** RFC 4180 CSV: a header, then one line per row; objects as JSON; quoted when needed. */
export function toCsv(items: object[], columns?: string[]): string[] {
  const cols = columns ?? (items[0] ? Object.keys(items[0]) : []);
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.map(cell).join(','), ...items.map((r) => cols.map((k) => cell((r as Record<string, unknown>)[k])).join(','))];
}
