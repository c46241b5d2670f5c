// Text from the database can hold characters that act instead of showing: C0 and C1 controls
// (terminal escape sequences such as `\e]0;title\a` or `\e[2J`), DEL, zero-width characters,
// line and paragraph separators, bidirectional overrides and isolates (text that reads
// differently from what it is), and the byte-order mark. Every view shows them as their \uXXXX
// escape. The newline is text everywhere; the tab is text where it cannot break a layout.

// eslint-disable-next-line no-control-regex
const ACTING = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** A character's escape as JSON and JavaScript write it: ESC is `\u001b`. */
const escapeOf = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * `text` with every acting character replaced by its escape, passed through `mark` (e.g. to set
 * it apart in HTML); with `keepTab`, tabs stay as they are.
 */
export function showActing(text: string, opts: { keepTab?: boolean; mark?: (escape: string) => string } = {}): string {
  const { keepTab = false, mark } = opts;
  return text.replace(ACTING, (ch) => (keepTab && ch === '\t' ? ch : mark ? mark(escapeOf(ch)) : escapeOf(ch)));
}
