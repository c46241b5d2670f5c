import { showActing } from '../../lib/controlChars.js';

// HTML built by one tagged template: every interpolated value is escaped unless it is already
// Html (built by this template), so a text from the database can never become markup. Agents'
// messages are untrusted: a `<script>` or a `javascript:` link in a history stays text.

/** Markup known to be safe: only `html` and `attrs` make it. */
export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** What may be interpolated: text (escaped), markup, lists of either, or nothing. */
export type Fragment = Html | string | number | null | undefined | false | readonly Fragment[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Plain text with every acting character (lib/controlChars.ts) written as its escape; tabs are text. */
export function showControls(text: string): string {
  return showActing(text, { keepTab: true });
}

/** The one escape: text to HTML, acting characters shown as marked escapes. */
export function escapeHtml(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
  // No quote in the marker: inside a quoted attribute it stays inert text.
  return showActing(escaped, { keepTab: true, mark: (escape) => `<span class=ctl>${escape}</span>` });
}

function render(value: Fragment): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** The template: `html\`<td>${text}</td>\``. */
export function html(strings: TemplateStringsArray, ...values: Fragment[]): Html {
  let out = strings[0];
  values.forEach((v, i) => (out += render(v) + strings[i + 1]));
  return new Html(out);
}
