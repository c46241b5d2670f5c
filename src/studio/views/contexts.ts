import type { ContextSummaryRow, Page } from '../../db/types.js';
import { type Html, html } from './html.js';
import type { Links } from './links.js';
import { page, time } from './page.js';
import { clip } from './tasks.js';

/** A context's title, where the metadata gives one. */
const titleOf = (x: ContextSummaryRow) => (typeof x.metadata?.title === 'string' ? x.metadata.title : '');

/** Contexts newest first, keyset-paged like `contexts list`. */
export function contextsPage(links: Links, schema: string, p: Page<ContextSummaryRow>, after: string | undefined): Html {
  const rows = p.items.length
    ? html`<table class="list contexts">
<thead><tr><th>Context</th><th class="num">Tasks</th><th class="num">Msgs</th><th>Created</th><th>Last activity</th><th>Title</th></tr></thead>
<tbody>
${p.items.map(
  (x) => html`<tr><td><a class="mono" href="${links.context(schema, x.context_id)}">${x.context_id}</a></td><td class="num">${x.task_count}</td><td class="num">${x.message_count}</td>
<td>${time(x.created_at)}</td><td>${time(x.last_activity_at)}</td><td>${clip(titleOf(x), 80)}</td></tr>`,
)}
</tbody></table>`
    : html`<p class="empty">No contexts.</p>`;
  const body = html`<h1>Contexts <span class="dim small">${schema}</span></h1>
<p><a href="${links.tasks(schema)}">tasks</a> · <a href="${links.stats(schema)}">stats</a></p>
${rows}
<nav class="pager">${after ? html`<a href="${links.contexts(schema)}">« newest</a>` : ''}${p.next ? html`<a rel="next" class="next" href="${links.contexts(schema, { after: p.next })}">next page »</a>` : html`<span class="dim">end of list</span>`}</nav>`;
  return page(links, `Contexts of ${schema}`, [{ label: schema, href: links.tasks(schema) }, { label: 'contexts' }], body);
}
