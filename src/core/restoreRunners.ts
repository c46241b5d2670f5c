import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { Config } from '../config.js';
import { createSchemaStatements, parseTasksCount } from '../db/clean.js';
import { type DumpEntry, isSchemaEntry, parseTocLine, startsData } from '../lib/dumpContents.js';
import { planPgRestoreDirect, planPgRestoreToScript, planPsqlRestore, planPsqlSteps } from '../lib/pgArgs.js';
import { type Interrupts, type RunningTool, abortError, runTool, startTool } from '../lib/process.js';
import { COMPLETE_MARK, dropEntries, incompleteError, prepareScript, rewriteHeadLine } from '../lib/sqlScript.js';
import { MISSING_HINT, connectionOf, toolEnv } from './pgTools.js';
import type { RestorePlan } from './restore.js';

// The ways a restore is run, chosen by core/restore.ts. Each runs in one transaction that stops at
// the first error and commits only once the whole input is known good.

/** What every runner needs. */
export interface RunCtx {
  config: Config;
  plan: RestorePlan;
  preamble: string;
  targetMajor: number;
  interrupts: Interrupts;
  redact: (t: string) => string;
  onProgress?: (bytes: number) => void;
  /** The statement printing the tasks restored, run just before COMMIT. */
  count?: string;
}

/** Collects a child's stdout (psql's, for the task count). */
function collect(tool: RunningTool): () => string {
  let out = '';
  tool.stdout?.setEncoding('utf8');
  tool.stdout?.on('data', (d: string) => (out = (out + d).slice(-8192))); // the count is printed last
  return () => out;
}

/** A private directory for the small files psql and pg_restore are pointed at; removed after. */
async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-restore-'));
  try {
    return await fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function psqlTool(ctx: RunCtx, plan: { args: string[]; env: Record<string, string> }) {
  return { name: 'psql', command: ctx.config.tools.psql, args: plan.args, env: { ...ctx.config.toolEnv, ...plan.env } };
}

/**
 * A plain, uncompressed script: psql reads the file itself (through node, the same bytes took
 * ~20% longer; bench/backup.bench.ts). Completeness is checked first, from the file's tail. Only
 * the head (schemas and settings, before the first rows) is rewritten: psql runs BEGIN, the
 * preamble and that head from a small file, then the rest of the dump from a descriptor already
 * positioned past the head, then COMMIT; ON_ERROR_STOP ends it at the first error, uncommitted.
 */
export async function restorePlainFile(ctx: RunCtx): Promise<number | undefined> {
  const fd = fs.openSync(ctx.plan.file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(1024, size));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    if (!tail.toString('utf8').includes(COMPLETE_MARK)) throw incompleteError();
    const { text, length } = readHead(fd, size, ctx.targetMajor);
    // Move the descriptor's own offset past the head (reads without a position advance it).
    const skip = Buffer.alloc(Math.min(length, 1 << 20));
    for (let done = 0, n = 1; done < length && n > 0; done += n) n = fs.readSync(fd, skip, 0, Math.min(skip.length, length - done), null);
    return await withWorkDir(async (dir) => {
      const headFile = path.join(dir, 'head.sql');
      fs.writeFileSync(headFile, `BEGIN;\n${ctx.preamble}${text}`, { mode: 0o600 });
      const plan = planPsqlSteps(connectionOf(ctx.config), ctx.config.connectTimeoutSeconds, [{ file: headFile }, { file: '-' }, ...(ctx.count ? [{ command: ctx.count }] : []), { command: 'COMMIT' }]);
      const psql = startTool(psqlTool(ctx, plan), { stdin: fd, stdout: 'pipe', redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT });
      const output = collect(psql);
      const timer = ctx.onProgress && progressOf(psql, length, ctx.onProgress);
      try {
        await psql.done;
      } finally {
        clearInterval(timer);
      }
      return parseTasksCount(output());
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** Reports how far psql has read its stdin (Linux: /proc/<pid>/fdinfo/0). */
function progressOf(tool: RunningTool, offset: number, onProgress: (bytes: number) => void): NodeJS.Timeout {
  return setInterval(() => {
    fs.readFile(`/proc/${tool.pid}/fdinfo/0`, 'utf8', (err, info) => {
      const pos = !err && /^pos:\s+(\d+)/m.exec(info);
      if (pos) onProgress(Number(pos[1]) - offset);
    });
  }, 250);
}

/** The head of a plain script (up to its first rows) rewritten, and its length in the file. */
function readHead(fd: number, size: number, targetMajor: number): { text: string; length: number } {
  const lines: string[] = [];
  const chunk = Buffer.alloc(1 << 16);
  let pending = Buffer.alloc(0);
  let pos = 0;
  let consumed = 0;
  while (pos < size) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) break;
    pos += n;
    let buf = Buffer.concat([pending, chunk.subarray(0, n)]);
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl !== -1; nl = buf.indexOf(0x0a, start)) {
      const line = buf.toString('utf8', start, nl);
      if (startsData(line)) return { text: lines.join(''), length: consumed };
      const rewritten = rewriteHeadLine(line, { targetMajor });
      if (rewritten !== null) lines.push(`${rewritten}\n`);
      consumed += nl + 1 - start;
      start = nl + 1;
    }
    buf = buf.subarray(start);
    pending = Buffer.from(buf);
  }
  // No rows at all (a --schema-only dump): the whole file is head.
  if (pending.length) {
    const rewritten = rewriteHeadLine(pending.toString('utf8'), { targetMajor });
    if (rewritten !== null) lines.push(rewritten);
    consumed += pending.length;
  }
  return { text: lines.join(''), length: consumed };
}

/**
 * The archive's table of contents without the entries that create (or comment on) these schemas,
 * nor those the plan leaves out (a data-only dump's migration log rows).
 */
function listWithout(toc: string, schemas: Set<string>, skip: DumpEntry[] = []): string {
  return toc
    .split('\n')
    .filter((line) => {
      const e = parseTocLine(line);
      if (e && skip.some((s) => s.type === e.type && s.schema === e.schema && s.name === e.name)) return false;
      return !(e && isSchemaEntry(e) && schemas.has(e.type === 'SCHEMA' ? e.name : e.name.slice('SCHEMA '.length)));
    })
    .join('\n');
}

/**
 * A custom archive with nothing to clean: pg_restore restores it directly, in its own single
 * transaction, exactly as bare `pg_restore --single-transaction` would (through psql the same
 * restore took ~15% longer; bench/backup.bench.ts). Schemas that exist already (public always
 * does) are left out of its list; new ones it creates inside that transaction.
 */
export async function restoreArchiveDirect(ctx: RunCtx): Promise<void> {
  const { config, plan } = ctx;
  await withWorkDir(async (dir) => {
    const list = path.join(dir, 'list');
    fs.writeFileSync(list, listWithout(plan.toc ?? '', new Set(plan.holdings.filter((h) => h.exists).map((h) => h.schema)), plan.dataOnly?.skip), { mode: 0o600 });
    const direct = planPgRestoreDirect(connectionOf(config), config.connectTimeoutSeconds, plan.file, list);
    const tool = startTool({ name: 'pg_restore', command: config.tools.pgRestore, args: direct.args, env: { ...config.toolEnv, ...direct.env } }, { redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT });
    await tool.done;
  });
}

/**
 * A custom archive: pg_restore writes the script into a FIFO that psql includes (\i), with no
 * copy through node. psql's stdin carries our control script: BEGIN, the schemas (the archive's
 * own CREATE SCHEMA entries are left out: public always exists), the preamble, the \i, and
 * COMMIT only after pg_restore has exited 0. If we die, psql reads end of input without COMMIT
 * and the transaction rolls back.
 */
export async function restoreArchive(ctx: RunCtx): Promise<number | undefined> {
  const { config, plan } = ctx;
  return withWorkDir(async (dir) => {
    const fifo = path.join(dir, 'script.sql');
    const list = path.join(dir, 'list');
    await runTool({ name: 'mkfifo', command: 'mkfifo', args: ['-m', '600', fifo], env: config.toolEnv }, { redact: ctx.redact });
    fs.writeFileSync(list, listWithout(plan.toc ?? '', new Set(plan.entries.filter((e) => e.type === 'SCHEMA').map((e) => e.name)), plan.dataOnly?.skip), { mode: 0o600 });
    const psqlPlan = planPsqlRestore(connectionOf(config), config.connectTimeoutSeconds);
    const psql = startTool(psqlTool(ctx, psqlPlan), { stdin: 'pipe', stdout: 'pipe', redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT });
    const output = collect(psql);
    const pgRestore = startTool(
      { name: 'pg_restore', command: config.tools.pgRestore, ...planPgRestoreToScript(plan.file, { list, output: fifo }), env: toolEnv(config) },
      { redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT },
    );
    // psql gone early (an error) leaves pg_restore blocked on the FIFO, or writing into nothing.
    let psqlEnded = false;
    void psql.done.finally(() => ((psqlEnded = true), pgRestore.kill())).catch(() => undefined);
    const quoted = `'${fifo.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
    psql.stdin!.write(`BEGIN;\n${createSchemaStatements(plan.entries.filter((e) => e.type === 'SCHEMA').map((e) => e.name))}${ctx.preamble}\\i ${quoted}\n`);
    try {
      await pgRestore.done;
    } catch (err) {
      // psql failing first makes pg_restore fail writing; psql's error is the one that explains.
      await Promise.race([psql.done.catch(() => undefined), new Promise((r) => setTimeout(r, 300))]);
      if (psqlEnded) await psql.done;
      psql.kill();
      await psql.done.catch(() => undefined);
      throw err;
    }
    psql.stdin!.end(`${ctx.count ? `${ctx.count};\n` : ''}COMMIT;\n`);
    await psql.done;
    return parseTasksCount(output());
  });
}

/** The plain script, from a file (gunzipped) or from pg_restore reading the archive, head rewritten and checked complete. */
export async function* streamScript(ctx: RunCtx): AsyncGenerator<Buffer> {
  const { config, plan } = ctx;
  let source: AsyncIterable<Buffer>;
  let producer: RunningTool | undefined;
  if (plan.format === 'custom') {
    producer = startTool({ name: 'pg_restore', command: config.tools.pgRestore, ...planPgRestoreToScript(plan.file), env: toolEnv(config) }, { stdout: 'pipe', redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT });
    source = producer.stdout!;
  } else {
    const read = fs.createReadStream(plan.file, { highWaterMark: 1 << 20 });
    source = plan.format === 'gzip' ? read.pipe(zlib.createGunzip()).on('error', () => undefined) : read;
    if (plan.format === 'gzip') read.on('error', (e) => (source as Readable).destroy(e));
  }
  let fed = 0;
  const skip = plan.dataOnly?.skip ?? [];
  const prepared = prepareScript(source, { targetMajor: ctx.targetMajor });
  const script = skip.length ? dropEntries(prepared, (e) => skip.some((s) => s.type === e.type && s.schema === e.schema && s.name === e.name)) : prepared;
  try {
    for await (const chunk of script) {
      fed += chunk.length;
      ctx.onProgress?.(fed);
      yield chunk;
    }
  } catch (err) {
    // pg_restore failing ends its output early; its own error says why.
    const failed = producer && (await Promise.race([producer.done.then(() => undefined, (e: unknown) => e), new Promise((r) => setTimeout(r, 300, undefined))]));
    producer?.kill();
    throw failed ?? err;
  }
  await producer?.done;
  if (ctx.interrupts.signal.aborted) throw abortError(ctx.interrupts.signal);
}

/** psql fed through node: BEGIN, the preamble, the script, and COMMIT only once it all went through. */
export async function restoreStream(ctx: RunCtx, script: Readable): Promise<void> {
  const plan = planPsqlRestore(connectionOf(ctx.config), ctx.config.connectTimeoutSeconds);
  const psql = startTool(psqlTool(ctx, plan), { stdin: 'pipe', redact: ctx.redact, signal: ctx.interrupts.signal, missingHint: MISSING_HINT });
  const full = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.from(`BEGIN;\n${ctx.preamble}`);
    yield* script;
    // Only reached when the whole input was read, complete, and its producer succeeded.
    yield Buffer.from('\nCOMMIT;\n');
  };
  try {
    await pipeline(Readable.from(full()), psql.stdin!);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED') {
      await psql.done; // psql stopped reading: its exit status and stderr say why
    }
    // Our input failed: psql never saw COMMIT. Kill it so its transaction rolls back now.
    psql.kill();
    await psql.done.catch(() => undefined);
    throw err;
  }
  await psql.done;
}
