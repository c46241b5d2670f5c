// Pure formatting: data in, lines out. Only Output writes.
import { showActing } from '../../lib/controlChars.js';

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

/** Text safe to print on a terminal: every acting character (lib/controlChars.ts) made visible, the tab too. */
export function visible(text: string): string {
  return showActing(text);
}

/** One line safe to print: `visible`, with newlines shown as \n too. */
export function visibleLine(text: string): string {
  return visible(text).replace(/\n/g, '\\n');
}

/** A deep copy of data read from the database with every string `visible` (Dates and numbers as they are). */
export function visibleData<T>(value: T): T {
  if (typeof value === 'string') return visible(value) as T;
  if (Array.isArray(value)) return value.map(visibleData) as T;
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [visible(k), visibleData(v)])) as T;
  }
  return value;
}

/** Display width of a string, ignoring colour codes. */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, '')].length;
}

/** How a table fits a terminal: its width, and the text columns that may be cut to reach it. */
export interface TableFit {
  width?: number;
  /** Column indexes that may be cut, e.g. a failure reason or a title (never ids or times). */
  shrink: number[];
}

/** The narrowest a shrinkable column is cut to. */
const MIN_SHRUNK = 8;

/**
 * Column widths within `fit.width`: the widest shrinkable column loses a character at a time
 * until the line fits; when they are all at their minimum, the other columns, widest first.
 */
function fitWidths(widths: number[], fit: TableFit | undefined): number[] {
  if (!fit?.width) return widths;
  const out = [...widths];
  const total = () => out.reduce((a, b) => a + b, 0) + 2 * (out.length - 1);
  const all = out.map((_, i) => i);
  // The text columns down to MIN_SHRUNK, then every column down to a character and an ellipsis.
  for (const [candidates, min] of [[fit.shrink, MIN_SHRUNK], [all, 2]] as const) {
    while (total() > fit.width) {
      const widest = candidates.filter((i) => out[i] > min).sort((a, b) => out[b] - out[a])[0];
      if (widest === undefined) break;
      out[widest]--;
    }
  }
  return out;
}

/** A cell cut to `width` visible characters with an ellipsis; colour codes are kept, and closed. */
export function cutVisible(text: string, width: number): string {
  if (visibleWidth(text) <= width) return text;
  let out = '';
  let shown = 0;
  for (const part of text.split(/(\u001b\[[0-9;]*m)/)) {
    if (part.startsWith('\u001b[')) {
      out += part;
      continue;
    }
    for (const ch of part) {
      if (shown === width - 1) break;
      out += ch;
      shown++;
    }
  }
  return `${out}…${text.includes('\u001b[') ? '\u001b[0m' : ''}`;
}

/** Columns padded to their widest cell; the last column is not padded. With `fit`, cut to a terminal's width. */
export function formatTable(headers: string[], rows: string[][], style: (h: string) => string = (h) => h, fit?: TableFit): string[] {
  // A cell is one line, whatever newline a value from the database carried.
  rows = rows.map((r) => r.map((cell) => cell.replace(/\n/g, '\\n')));
  const widths = fitWidths(headers.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? '')))), fit);
  rows = rows.map((r) => r.map((cell, i) => cutVisible(cell, widths[i])));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - visibleWidth(c)))).join('  ').trimEnd();
  return [style(line(headers.map((h, i) => cutVisible(h, widths[i])))), ...rows.map(line)];
}

/**
 * A timestamp as every output shows it: UTC, 'Z', full precision (2026-12-01T06:58:34.251487Z).
 * The database's arrive so already (db/timestamps.ts); another text (a message's own
 * metadata.timestamp) is shown in UTC with the precision it has, or as written when unreadable.
 */
export function formatTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value)) return value;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toISOString();
}

/** One line, at most `max` characters, with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1))}…`;
}

export { plural } from '../../lib/words.js';

/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[i]}`;
}

