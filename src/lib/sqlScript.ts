import { OperationError } from '../errors.js';
import { type DumpEntry, parseHeaderLine, startsCopy, startsData } from './dumpContents.js';

// Reading pg_dump's plain SQL scripts as streams: small fixes to the head of a script so it
// restores portably, a completeness check, and a splitter for the embedded database, which has
// no psql to run meta-commands or feed COPY data.

const NL = 0x0a;
/** pg_dump's last line: a script without it was cut short. */
export const COMPLETE_MARK = '-- PostgreSQL database dump complete';

export interface PrepareOptions {
  /** PostgreSQL major of the server the script goes to. */
  targetMajor: number;
}

/**
 * Rewrites one line of a script's head (schemas, settings), or blanks it (''), which keeps the
 * script's line numbers, the ones psql names in an error:
 * - `SET transaction_timeout` exists from PostgreSQL 17; pg_dump 17+ (and PGlite's) write it.
 * - `CREATE SCHEMA x;` fails when x exists, as public always does: IF NOT EXISTS.
 * - `COMMENT ON SCHEMA public` needs ownership of public, which managed hosts do not give.
 * - `\restrict <key>`: restore runs psql restricted with a key of its own, which the file cannot know.
 */
export function rewriteHeadLine(line: string, opts: PrepareOptions): string {
  if (/^\\restrict\s/.test(line)) return '';
  if (opts.targetMajor < 17 && /^SET transaction_timeout = /.test(line)) return '';
  // `s`: a name may hold U+2028 or U+2029, where a bare `.` stops.
  const schema = /^CREATE SCHEMA (.+);$/s.exec(line);
  if (schema) return `CREATE SCHEMA IF NOT EXISTS ${schema[1]};`;
  if (/^COMMENT ON SCHEMA public IS /.test(line)) return '';
  return line;
}

/**
 * Streams a plain script with its head rewritten (see rewriteHeadLine), and fails at the end
 * if the script is not complete: a truncated dump must never be committed.
 */
export async function* prepareScript(source: AsyncIterable<Buffer>, opts: PrepareOptions): AsyncGenerator<Buffer> {
  let inHead = true;
  let pending: Buffer = Buffer.alloc(0);
  let tail: Buffer = Buffer.alloc(0);
  let any = false;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    any = true;
    tail = Buffer.concat([tail, chunk]).subarray(-1024);
    if (!inHead) {
      yield chunk;
      continue;
    }
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    const out: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      const line = buf.toString('utf8', start, nl);
      if (startsData(line)) {
        inHead = false;
        break;
      }
      out.push(`${rewriteHeadLine(line, opts)}\n`);
      start = nl + 1;
    }
    if (out.length) yield Buffer.from(out.join(''), 'utf8');
    buf = buf.subarray(start);
    if (inHead) pending = buf;
    else {
      pending = Buffer.alloc(0);
      if (buf.length) yield buf;
    }
  }
  if (pending.length) {
    yield Buffer.from(rewriteHeadLine(pending.toString('utf8'), opts), 'utf8');
  }
  if (!any) throw new OperationError('the backup file is empty');
  if (!tail.toString('utf8').includes(COMPLETE_MARK)) {
    throw incompleteError();
  }
}

export function incompleteError(): OperationError {
  return new OperationError('the backup is incomplete (no "dump complete" trailer): the file is truncated or not a pg_dump script', 'nothing was restored; use an intact backup file');
}

/** A piece of a script: SQL to run as is, or one COPY … FROM stdin with its data. */
export type ScriptPart = { kind: 'sql'; text: string } | { kind: 'copy'; statement: string; data: Buffer };

const FLUSH_BYTES = 8 * 1024 * 1024;

/**
 * Splits a plain script into SQL runs and COPY blocks, dropping psql meta-commands (`\restrict`,
 * `\unrestrict`, `\connect`). SQL is cut only at COPY blocks and at pg_dump's `-- Name:` entry
 * headers, never inside a statement, so each run can go to a multi-statement exec.
 */
export async function* splitScript(source: AsyncIterable<Buffer>): AsyncGenerator<ScriptPart> {
  let sql: string[] = [];
  let sqlBytes = 0;
  let copy: { statement: string; data: Buffer[] } | undefined;
  let pending: Buffer = Buffer.alloc(0);
  const flushSql = (): ScriptPart | undefined => {
    const text = sql.join('');
    sql = [];
    sqlBytes = 0;
    return text.trim() ? { kind: 'sql', text } : undefined;
  };
  const onLine = function* (lineBuf: Buffer): Generator<ScriptPart> {
    if (copy) {
      if (lineBuf.length === 2 && lineBuf[0] === 0x5c && lineBuf[1] === 0x2e) {
        yield { kind: 'copy', statement: copy.statement, data: Buffer.concat(copy.data) };
        copy = undefined;
      } else copy.data.push(lineBuf, Buffer.from('\n'));
      return;
    }
    const line = lineBuf.toString('utf8');
    if (line.startsWith('\\')) return;
    if (/^COPY .* FROM stdin;$/s.test(line)) {
      const part = flushSql();
      if (part) yield part;
      copy = { statement: line, data: [] };
      return;
    }
    if (sqlBytes > FLUSH_BYTES && /^-- (Data for )?Name: /.test(line)) {
      const part = flushSql();
      if (part) yield part;
    }
    sql.push(line, '\n');
    sqlBytes += lineBuf.length + 1;
  };
  for await (const chunk of source) {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      yield* onLine(buf.subarray(start, nl));
      start = nl + 1;
    }
    pending = Buffer.from(buf.subarray(start));
  }
  if (pending.length) yield* onLine(pending);
  if (copy) throw new OperationError('the backup ends inside a COPY block: the file is truncated', 'nothing was restored; use an intact backup file');
  const part = flushSql();
  if (part) yield part;
}

const BLANK = Buffer.from('\n');

/**
 * Streams a plain script without the entries `drop` picks: each from its header line up to the
 * next header (COPY rows in between are never read as headers). A data-only restore leaves out
 * the rows of a migration log the target already has this way.
 */
export async function* dropEntries(source: AsyncIterable<Buffer>, drop: (e: DumpEntry) => boolean): AsyncGenerator<Buffer> {
  let pending: Buffer = Buffer.alloc(0);
  let inCopy = false;
  let dropping = false;
  const keep: Buffer[] = [];
  const onLine = (line: Buffer) => {
    const row = inCopy; // a row, or the \. ending them
    if (inCopy) inCopy = !(line.length === 3 && line[0] === 0x5c && line[1] === 0x2e && line[2] === NL);
    else if (line[0] === 0x2d && line[1] === 0x2d) {
      const text = line.toString('utf8').replace(/\r?\n$/, '');
      const entry = parseHeaderLine(text);
      if (entry) dropping = drop(entry);
      else if (text.startsWith(COMPLETE_MARK)) dropping = false; // the trailer ends the last entry
    } else if (line[0] === 0x43 && startsCopy(line.toString('utf8').replace(/\r?\n$/, ''))) inCopy = true;
    // psql's own commands (\unrestrict at the end) are kept whatever entry they follow; a line
    // dropped stays as a blank one, so psql's line numbers are still the file's.
    if (!dropping || (!row && line[0] === 0x5c)) keep.push(line);
    else if (line[line.length - 1] === NL) keep.push(BLANK);
  };
  for await (const chunk of source) {
    const buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(NL, start); nl !== -1; nl = buf.indexOf(NL, start)) {
      onLine(buf.subarray(start, nl + 1));
      start = nl + 1;
    }
    pending = Buffer.from(buf.subarray(start));
    if (keep.length) yield Buffer.concat(keep.splice(0));
  }
  if (pending.length) onLine(pending);
  if (keep.length) yield Buffer.concat(keep.splice(0));
}
