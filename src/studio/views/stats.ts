import type { StatsRow } from '../../db/types.js';
import { percent } from './agents.js';
import { type Html, html } from './html.js';
import type { Links } from './links.js';
import { page, statusBadge } from './page.js';

// The charts of `bindu-db stats`, drawn as SVG on the server: no script, no chart library, and
// nothing for the Content-Security-Policy to allow. Colours come from classes in studio.css.

const W = 640;

/** Vertical bars, one per day, labelled under each bar. */
function perDayChart(days: StatsRow['tasks_per_day']): Html {
  const h = 170;
  const top = 16;
  const base = h - 24;
  const max = Math.max(1, ...days.map((d) => d.count));
  const step = W / Math.max(1, days.length);
  return html`<svg class="chart" viewBox="0 0 ${W} ${h}" role="img" aria-label="tasks per day">
${days.map((d, i) => {
  const bh = Math.round(((base - top) * d.count) / max);
  const x = Math.round(i * step + step * 0.15);
  return html`<g><title>${d.date}: ${d.count} tasks</title><rect class="bar" x="${x}" y="${base - bh}" width="${Math.round(step * 0.7)}" height="${bh}"></rect>
<text class="value" x="${x + step * 0.35}" y="${base - bh - 4}" text-anchor="middle">${d.count}</text>
<text class="label" x="${x + step * 0.35}" y="${base + 14}" text-anchor="middle">${d.date.slice(5)}</text></g>`;
})}
<line class="axis" x1="0" y1="${base}" x2="${W}" y2="${base}"></line>
</svg>`;
}

/** Horizontal bars with a label on the left; `cls` picks each bar's colour. */
function hbarChart(rows: Array<{ label: string; value: number; cls: string }>, aria: string): Html {
  const rowH = 24;
  const left = 150;
  const h = rows.length * rowH + 8;
  const max = Math.max(1, ...rows.map((r) => r.value));
  return html`<svg class="chart" viewBox="0 0 ${W} ${h}" role="img" aria-label="${aria}">
${rows.map((r, i) => {
  const y = 4 + i * rowH;
  const bw = Math.round(((W - left - 80) * r.value) / max);
  return html`<g><title>${r.label}: ${r.value}</title><text class="label" x="${left - 8}" y="${y + 16}" text-anchor="end">${r.label}</text>
<rect class="bar ${r.cls}" x="${left}" y="${y + 3}" width="${bw}" height="${rowH - 8}"></rect>
<text class="value" x="${left + bw + 6}" y="${y + 16}">${r.value}</text></g>`;
})}
</svg>`;
}

const statusClass = (s: string) => `status-${s.replace(/[^a-z_]/g, '')}`;

export function statsPage(links: Links, schema: string, s: StatsRow): Html {
  const total = Object.values(s.tasks_by_status).reduce((a, b) => a + b, 0);
  const body = html`<h1>Stats <span class="dim small">${schema}</span></h1>
<p>${total} tasks · failure rate ${percent(s.failure_rate)} · ${s.feedback.count} feedback${s.feedback.average_rating !== null ? ` · average rating ${s.feedback.average_rating}` : ''}</p>
<section><h2>Tasks per day <span class="dim small">UTC, last 14 days</span></h2>${perDayChart(s.tasks_per_day)}</section>
<section><h2>Tasks by status</h2>${hbarChart(Object.entries(s.tasks_by_status).map(([k, n]) => ({ label: k, value: n, cls: statusClass(k) })), 'tasks by status')}
<p>${Object.entries(s.tasks_by_status).filter(([, n]) => n > 0).map(([k]) => html`<a href="${links.tasks(schema, { status: k })}">${statusBadge(k)}</a> `)}</p>
${s.tasks_by_state ? html`<p class="dim small">server states: ${Object.entries(s.tasks_by_state).map(([k, n]) => `${k} ${n}`).join(', ')}</p>` : ''}</section>
<section><h2>Feedback ratings</h2>${hbarChart(Object.entries(s.feedback.by_rating).map(([r, n]) => ({ label: /^[1-5]$/.test(r) ? '★'.repeat(Number(r)) : r, value: n, cls: 'rating' })), 'feedback ratings')}</section>
<section><h2>Tables</h2><table class="list"><thead><tr><th>Table</th><th class="num">Rows</th><th class="num">Bytes</th></tr></thead><tbody>
${Object.entries(s.table_sizes).map(([t, z]) => html`<tr><td class="mono">${t}</td><td class="num">${z.rows}</td><td class="num">${z.bytes.toLocaleString('en')}</td></tr>`)}
</tbody></table></section>`;
  return page(links, `Stats of ${schema}`, [{ label: schema, href: links.tasks(schema) }, { label: 'stats' }], body);
}
