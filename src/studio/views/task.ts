import type { ContextDetail, TaskDetail } from '../../core/inspect.js';
import { messagesOf } from '../../core/messages.js';
import type { FeedbackRow } from '../../db/types.js';
import { type Fragment, type Html, html } from './html.js';
import type { Links } from './links.js';
import { page, statusBadge, time } from './page.js';
import { taskRows } from './tasks.js';
import { folded, prettyJson, timeline } from './timeline.js';

function stars(rating: number | null): Html {
  if (rating === null) return html`<span class="dim">-</span>`;
  if (!Number.isInteger(rating) || rating < 1 || rating > 5) return html`<span class="rating">${rating}</span>`;
  return html`<span class="rating" title="${rating} of 5">${'★'.repeat(rating)}<span class="dim">${'☆'.repeat(5 - rating)}</span></span>`;
}

function fields(rows: Array<[string, Fragment]>): Html {
  return html`<dl class="fields">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}

const isEmpty = (v: unknown) => v === null || v === undefined || (typeof v === 'object' && Object.keys(v as object).length === 0);

function feedbackList(items: FeedbackRow[]): Html {
  if (items.length === 0) return html`<p class="empty">(none)</p>`;
  return html`<ul class="feedback">${items.map((f) => html`<li>${stars(f.rating)} ${time(f.created_at)}${f.feedback ? html`<pre class="text">${f.feedback}</pre>` : ''}</li>`)}</ul>`;
}

/** One task: its fields, history as a timeline, artifacts, feedback and webhook (secrets already masked by core). */
export function taskPage(links: Links, schema: string, t: TaskDetail, from: number): Html {
  const history = messagesOf(t.history);
  const body = html`<h1>Task <span class="mono">${t.task_id}</span></h1>
${fields([
  ['Status', html`${statusBadge(t.status, t.state)}${t.state_timestamp ? html` <span class="dim">since</span> ${time(t.state_timestamp)}` : ''}`],
  ['Context', html`<a class="mono" href="${links.context(schema, t.context_id)}">${t.context_id}</a>`],
  ...(t.owner_did !== undefined ? ([['Owner', t.owner_did ?? html`<span class="dim">(not recorded)</span>`]] as Array<[string, Fragment]>) : []),
  ...(t.payment_status ? ([['Payment', t.payment_status]] as Array<[string, Fragment]>) : []),
  ['Created', time(t.created_at)],
  ['Updated', time(t.updated_at)],
])}
<section><h2>History <span class="dim small">${history.length} message${history.length === 1 ? '' : 's'}</span></h2>
${timeline(history, { from, partLink: (m, p) => links.part(schema, t.task_id, m, p), pageLink: (f) => links.task(schema, t.task_id, { from: f }) })}
</section>
<section><h2>Artifacts</h2>${isEmpty(t.artifacts) ? html`<p class="empty">(none)</p>` : folded(prettyJson(t.artifacts), links.artifacts(schema, t.task_id), 'json')}</section>
${t.metadata !== undefined ? html`<section><h2>Metadata</h2>${isEmpty(t.metadata) ? html`<p class="empty">(none)</p>` : folded(prettyJson(t.metadata), undefined, 'json')}</section>` : ''}
<section><h2>Feedback <span class="dim small">${t.feedback.length}</span></h2>${feedbackList(t.feedback)}</section>
<section><h2>Webhook</h2>${t.webhook_config ? html`<pre class="json webhook">${prettyJson(t.webhook_config.config)}</pre><p class="dim small">secret values masked</p>` : html`<p class="empty">(none)</p>`}</section>`;
  return page(links, `Task ${t.task_id}`, [{ label: schema, href: links.tasks(schema) }, { label: 'tasks', href: links.tasks(schema) }, { label: `${t.task_id.slice(0, 8)}…` }], body);
}

/**
 * One context: its metadata, its own messages, and its tasks. Bindu's server keeps a context's
 * conversation in its tasks' histories (it never writes the context's messages), so `histories`
 * carries the tasks' timelines, oldest first, when the context has no messages of its own.
 */
export function contextPage(links: Links, schema: string, x: ContextDetail, histories: TaskDetail[]): Html {
  const messages = messagesOf(x.messages);
  const conversation = messages.length
    ? timeline(messages, { from: 0 })
    : histories.length
      ? histories.map(
          (t) => html`<h3><a class="mono" href="${links.task(schema, t.task_id)}">${t.task_id.slice(0, 8)}…</a> ${statusBadge(t.status, t.state)} ${time(t.created_at)}</h3>
${timeline(messagesOf(t.history), { from: 0, partLink: (m, p) => links.part(schema, t.task_id, m, p), pageLink: (f) => links.task(schema, t.task_id, { from: f }) })}`,
        )
      : html`<p class="empty">(no messages)</p>`;
  const body = html`<h1>Context <span class="mono">${x.context_id}</span></h1>
${fields([
  ...(x.owner_did !== undefined ? ([['Owner', x.owner_did ?? html`<span class="dim">(not recorded)</span>`]] as Array<[string, Fragment]>) : []),
  ['Created', time(x.created_at)],
  ['Updated', time(x.updated_at)],
])}
${isEmpty(x.metadata) ? '' : html`<section><h2>Metadata</h2>${folded(prettyJson(x.metadata), undefined, 'json')}</section>`}
<section><h2>Tasks <span class="dim small">${x.tasks.length}${x.tasks_next ? '+' : ''}</span></h2>
${taskRows(links, schema, x.tasks)}
${x.tasks_next ? html`<p><a href="${links.tasks(schema, { context: x.context_id, after: x.tasks_next })}">more tasks of this context »</a></p>` : ''}
</section>
<section><h2>Conversation</h2>${conversation}</section>`;
  return page(links, `Context ${x.context_id}`, [{ label: schema, href: links.tasks(schema) }, { label: 'contexts', href: links.contexts(schema) }, { label: `${x.context_id.slice(0, 8)}…` }], body);
}
