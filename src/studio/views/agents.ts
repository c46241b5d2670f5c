import type { SchemaStatsRow } from '../../core/inspect.js';
import { type Html, html } from './html.js';
import type { Links } from './links.js';
import { page, statusBadge, time } from './page.js';

const percent = (rate: number | null) => (rate === null ? '-' : `${(rate * 100).toFixed(rate < 0.1 ? 2 : 1)}%`);

/** The start page: one row per schema holding Bindu tables (per agent on a Bindu server). */
export function agentsPage(links: Links, agents: SchemaStatsRow[]): Html {
  const body = agents.length
    ? html`<h1>Agents</h1>
<p class="dim">${agents.length} schema${agents.length === 1 ? '' : 's'} holding Bindu tables.</p>
<table class="list">
<thead><tr><th>Schema</th><th>Layout</th><th class="num">Tasks</th><th>By status</th><th class="num">Failure rate</th><th>Last activity</th><th></th></tr></thead>
<tbody>
${agents.map(
  (a) => html`<tr>
<td><a class="mono" href="${links.tasks(a.schema)}">${a.schema}</a></td>
<td><span class="layout">${a.layout}</span></td>
<td class="num">${a.tasks}</td>
<td class="counts">${Object.entries(a.tasks_by_status)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => html`<a href="${links.tasks(a.schema, { status: s })}">${statusBadge(s)} ${n}</a> `)}</td>
<td class="num${(a.failure_rate ?? 0) > 0.1 ? ' bad' : ''}">${percent(a.failure_rate)}</td>
<td>${time(a.last_activity)}</td>
<td><a href="${links.stats(a.schema)}">stats</a></td>
</tr>`,
)}
</tbody>
</table>`
    : html`<h1>Agents</h1><p>No schema holds Bindu tables yet. Create them with <code>bindu-db migrate up</code>.</p>`;
  return page(links, 'Agents', [], body);
}

export { percent };
