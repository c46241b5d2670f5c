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

/**
 * Characters that would act instead of showing: C0/C1 controls (terminal escape sequences),
 * DEL, bidirectional overrides (text that reads differently from what it is), zero-width and
 * line/paragraph separators. Newline and tab are text.
 */
// eslint-disable-next-line no-control-regex
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** A character that would act as its escape, e.g. ESC as `\x1b`, RLO as `\u202e`. */
export function visibleCode(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Plain text with every invisible or acting character written as its escape. */
export function showControls(text: string): string {
  return text.replace(INVISIBLE, visibleCode);
}

/** The one escape: text to HTML, invisible characters shown as marked escapes. */
export function escapeHtml(text: string): string {
  const escaped = text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
  // No quote in the marker: inside a quoted attribute it stays inert text.
  return escaped.replace(INVISIBLE, (c) => `<span class=ctl>${visibleCode(c)}</span>`);
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
