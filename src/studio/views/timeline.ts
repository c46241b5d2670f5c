import { type Message, type Part, isTextPart, messageTime, mimeOf, partsOf } from '../../core/messages.js';
import { type Html, html } from './html.js';
import { time } from './page.js';

// A conversation as a timeline. A history can hold megabytes (long model outputs, big data
// parts): each text is cut at FOLD characters with a link to the whole part (the page's script
// loads it in place), and a timeline shows at most MESSAGES_PER_PAGE messages at once.

export const FOLD = 4000;
export const MESSAGES_PER_PAGE = 100;

/** Pretty JSON of any value (a cycle-free JSON column; undefined as null). */
export function prettyJson(value: unknown): string {
  return JSON.stringify(value ?? null, null, 2);
}

/** A long text folded: its first FOLD characters, then a link to all of it (when there is one). */
export function folded(text: string, whole: string | undefined, cls = 'text'): Html {
  if (text.length <= FOLD) return html`<pre class="${cls}">${text}</pre>`;
  const rest = `… ${(text.length - FOLD).toLocaleString('en')} more characters`;
  return html`<pre class="${cls}">${text.slice(0, FOLD)}</pre><p class="fold">${whole === undefined ? `${rest} not shown (bindu-db tasks show --json has them).` : html`${rest}. <a class="more" href="${whole}">show all</a>`}</p>`;
}

function filePart(f: Part['file']): Html {
  const file = f && typeof f === 'object' ? f : {};
  const bytes = typeof file.bytes === 'string' ? Math.floor((file.bytes.length * 3) / 4) : undefined;
  // A file's URI is shown as text, never as a link: a `javascript:` or foreign URL stays inert.
  return html`<div class="part file"><span class="kind">file</span> <strong>${file.name ?? '(unnamed)'}</strong>${mimeOf(file) ? html` <span class="dim">${mimeOf(file)}</span>` : ''}${bytes !== undefined ? html` <span class="dim">${bytes.toLocaleString('en')} bytes inline</span>` : ''}${typeof file.uri === 'string' ? html`<div class="uri mono">${file.uri}</div>` : ''}</div>`;
}

/** One part; `whole` links to the full part when it must be folded. */
export function partView(p: Part, whole: string | undefined): Html {
  if (p === null || typeof p !== 'object') return html`<div class="part other"><pre class="text">${String(p)}</pre></div>`;
  if (isTextPart(p)) return html`<div class="part text-part">${folded(typeof p.text === 'string' ? p.text : prettyJson(p.text), whole)}</div>`;
  if (p.kind === 'file') return filePart(p.file);
  const kind = p.kind === 'data' ? 'data' : String(p.kind ?? 'part');
  return html`<div class="part data"><span class="kind">${kind}</span>${folded(prettyJson(p.kind === 'data' ? p.data : p), whole, 'json')}</div>`;
}

/** The whole text of one part, for the part endpoint: text as is, anything else as JSON. */
export function partText(p: Part): string {
  if (p !== null && typeof p === 'object' && isTextPart(p) && typeof p.text === 'string') return p.text;
  return prettyJson(p !== null && typeof p === 'object' && p.kind === 'data' ? p.data : p);
}

export interface TimelineOptions {
  /** Index of the first message shown. */
  from: number;
  /** Link to the whole of part `p` of message `m`. */
  partLink?: (m: number, p: number) => string;
  /** Link to the timeline starting at another message. */
  pageLink?: (from: number) => string;
}

export function timeline(messages: Message[], opts: TimelineOptions): Html {
  if (messages.length === 0) return html`<p class="empty">(no messages)</p>`;
  const from = Math.min(Math.max(0, opts.from), Math.max(0, messages.length - 1));
  const shown = messages.slice(from, from + MESSAGES_PER_PAGE);
  const pager =
    messages.length > MESSAGES_PER_PAGE && opts.pageLink
      ? html`<nav class="pager">${from > 0 ? html`<a href="${opts.pageLink(Math.max(0, from - MESSAGES_PER_PAGE))}">« earlier messages</a>` : ''}<span class="dim">messages ${from + 1}-${from + shown.length} of ${messages.length}</span>${from + shown.length < messages.length ? html`<a href="${opts.pageLink(from + MESSAGES_PER_PAGE)}">later messages »</a>` : ''}</nav>`
      : '';
  return html`${pager}<ol class="timeline" start="${from + 1}">
${shown.map((m, i) => {
  const n = from + i;
  const role = typeof m.role === 'string' ? m.role : '?';
  const parts = partsOf(m);
  return html`<li class="message role-${role === 'agent' || role === 'user' ? role : 'other'}">
<div class="meta"><span class="role">${role}</span> ${messageTime(m) ? time(messageTime(m)) : ''}${typeof m.message_id === 'string' ? html` <span class="dim mono small">${m.message_id}</span>` : ''}</div>
${parts.length ? parts.map((p, j) => partView(p, opts.partLink?.(n, j))) : html`<p class="dim">(no parts)</p>`}
</li>`;
})}
</ol>${pager}`;
}
