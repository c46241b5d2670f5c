import type { Page, TaskSummaryRow } from '../../db/types.js';
import { type Html, html } from './html.js';
import type { Links, Query } from './links.js';
import { page, statusBadge, time } from './page.js';

/** The filters of `tasks list`, as the page's query string carries them. */
export interface TaskFilterQuery {
  status?: string;
  since?: string;
  until?: string;
  context?: string;
  owner?: string;
  payment_status?: string;
  limit?: string;
}

/** At most `max` characters of a text, cut with an ellipsis (the full text is on the task's page). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function taskRows(links: Links, schema: string, items: TaskSummaryRow[]): Html {
  if (items.length === 0) return html`<p class="empty">No tasks match.</p>`;
  const owner = items.some((t) => t.owner_did);
  const payment = items.some((t) => t.payment_status);
  return html`<table class="list tasks">
<thead><tr><th>Task</th><th>Status</th><th>Context</th>${owner && html`<th>Owner</th>`}<th>Created</th><th>Updated</th><th class="num">Msgs</th>${payment && html`<th>Payment</th>`}<th>Failure reason</th></tr></thead>
<tbody>
${items.map(
  (t) => html`<tr>
<td><a class="mono" href="${links.task(schema, t.task_id)}">${t.task_id}</a></td>
<td>${statusBadge(t.status, t.state)}</td>
<td><a class="mono" href="${links.context(schema, t.context_id)}">${t.context_id.slice(0, 8)}…</a></td>
${owner && html`<td class="mono small">${clip(t.owner_did ?? '', 48)}</td>`}
<td>${time(t.created_at)}</td>
<td>${time(t.updated_at)}</td>
<td class="num">${t.message_count}</td>
${payment && html`<td>${t.payment_status ?? ''}</td>`}
<td class="reason">${t.failure_reason ? clip(t.failure_reason, 200) : ''}</td>
</tr>`,
)}
</tbody>
</table>`;
}

function filterForm(links: Links, schema: string, statuses: readonly string[], q: TaskFilterQuery, layout: { owner: boolean; payment: boolean }): Html {
  const chosen = new Set((q.status ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  const field = (name: keyof TaskFilterQuery, label: string, placeholder: string) =>
    html`<label>${label} <input name="${name}" value="${q[name] ?? ''}" placeholder="${placeholder}"></label>`;
  // A GET form replaces the action's query with its fields: the token travels as a hidden one.
  return html`<form class="filters" method="get" action="${links.tasks(schema)}">
<input type="hidden" name="token" value="${links.token}">
<fieldset><legend>Status</legend>${statuses.map((s) => html`<label class="check"><input type="checkbox" name="status" value="${s}"${chosen.has(s) ? html` checked` : ''}> ${statusBadge(s)}</label>`)}</fieldset>
${field('since', 'Since', '24h or 2026-01-31')}
${field('until', 'Until', '5m or 2026-02-01T12:00Z')}
${field('context', 'Context', 'context UUID')}
${layout.owner && field('owner', 'Owner', 'owner DID')}
${layout.payment && field('payment_status', 'Payment', 'payment-failed,payment-orphaned')}
${field('limit', 'Per page', '20')}
<button type="submit">Filter</button> <a href="${links.tasks(schema)}">clear</a>
</form>`;
}

export interface TasksPageInput {
  schema: string;
  layout: string;
  statuses: readonly string[];
  owner: boolean;
  payment: boolean;
  query: TaskFilterQuery;
  /** The cursor this page starts after, if not the first. */
  after?: string;
  page: Page<TaskSummaryRow>;
}

export function tasksPage(links: Links, input: TasksPageInput): Html {
  const { schema, query, page: p } = input;
  const filters: Query = { ...query };
  const body = html`<h1>Tasks <span class="dim small">${schema} · ${input.layout} layout</span></h1>
<p><a href="${links.contexts(schema)}">contexts</a> · <a href="${links.stats(schema)}">stats</a></p>
${filterForm(links, schema, input.statuses, query, input)}
${taskRows(links, schema, p.items)}
<nav class="pager">${input.after ? html`<a href="${links.tasks(schema, filters)}">« newest</a>` : ''}${p.next ? html`<a rel="next" class="next" href="${links.tasks(schema, { ...filters, after: p.next })}">next page »</a>` : html`<span class="dim">end of list</span>`}</nav>`;
  return page(links, `Tasks of ${schema}`, [{ label: schema, href: links.tasks(schema) }, { label: 'tasks' }], body);
}
