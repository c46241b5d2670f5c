import type { PGlite } from '@electric-sql/pglite';
import type { ScriptPart } from '../lib/sqlScript.js';
import { importEsm } from '../lib/esm.js';
import { checkpoint } from '../lib/process.js';
import { ident } from '../lib/sqlIdent.js';
import { copyPagesStatement, dumpedTables, sequenceValues } from './backupCatalog.js';
import { pgliteRunner } from './sqlRunner.js';

// Backup and restore for the embedded database, in process: PGlite has no server to point
// pg_dump or psql at. PGlite is one session, so nothing else runs between BEGIN and COMMIT.

/** pg_dump's entry header, as its plain scripts write them (restore reads them back). */
const header = (name: string, type: string, schema: string) => `--\n-- ${type === 'TABLE DATA' ? 'Data for ' : ''}Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: -\n--\n\n`;

/** Pages of a table read per COPY: a few megabytes in memory at a time, whatever the table's size. */
const PAGES_PER_BATCH = 256;

export interface EmbeddedDumpOptions {
  /** pg_dump's arguments (schema patterns, --no-owner…), for the definitions. */
  args: string[];
  /** The schemas whose rows are written (all the dump holds). */
  schemas: string[];
  schemaOnly: boolean;
  dataOnly: boolean;
  signal?: AbortSignal;
}

/**
 * A plain SQL dump of the embedded database, streamed in bounded memory. PGlite's own pg_dump
 * (WebAssembly) returns its whole output as one string, which fails past 512 MB; so it writes
 * only the definitions (before and after the data), and the rows are copied here, each table in
 * batches of pages, in pg_dump's own COPY format. PGlite is one session, held by us alone, so all
 * of it reads one state of the database.
 */
export async function* dumpEmbedded(pglite: PGlite, opts: EmbeddedDumpOptions): AsyncGenerator<Buffer> {
  const { pgDump } = await importEsm<typeof import('@electric-sql/pglite-tools')>('@electric-sql/pglite-tools');
  const sql = pgliteRunner(pglite);
  const trailer = '--\n-- PostgreSQL database dump complete\n--\n\n';
  // Each section comes with pg_dump's prologue (SET …) and trailer: one of each is kept, so the
  // result reads as one dump (and its settings stay in the head, where restore adapts them).
  const section = async (name: 'pre-data' | 'post-data') => {
    const text = await (await pgDump({ pg: pglite, args: [...opts.args, `--section=${name}`] })).text();
    if (name === 'pre-data') return Buffer.from(text.replace(/\n--\n-- PostgreSQL database dump complete\n--\n\s*$/, '\n'));
    const first = text.indexOf('\n--\n-- Name: ');
    return Buffer.from(first === -1 ? trailer : text.slice(first + 1));
  };
  if (!opts.dataOnly) yield await section('pre-data');
  else yield Buffer.from('--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = \'UTF8\';\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config(\'search_path\', \'\', false);\n\n');
  if (!opts.schemaOnly) {
    for (const t of await dumpedTables(sql, opts.schemas)) {
      yield Buffer.from(`${header(t.name, 'TABLE DATA', t.schema)}COPY ${ident(t.schema)}.${ident(t.name)} (${t.columns.map(ident).join(', ')}) FROM stdin;\n`);
      // Past the last page counted: rows written since are read too (the last batch is open-ended).
      for (let from = 0; from <= t.pages; from += PAGES_PER_BATCH) {
        await checkpoint(opts.signal, 'no backup file was written');
        const to = from + PAGES_PER_BATCH > t.pages ? 2 ** 31 - 1 : from + PAGES_PER_BATCH;
        const result = await pglite.query(copyPagesStatement(t, from, to, "'/dev/blob'"));
        if (result.blob && result.blob.size > 0) yield Buffer.from(await result.blob.arrayBuffer());
        if (to === 2 ** 31 - 1) break;
      }
      yield Buffer.from('\\.\n\n');
    }
    for (const s of await sequenceValues(sql, opts.schemas)) {
      if (s.value === null) continue;
      const name = `${ident(s.schema)}.${ident(s.name)}`.replace(/'/g, "''");
      yield Buffer.from(`${header(s.name, 'SEQUENCE SET', s.schema)}SELECT pg_catalog.setval('${name}', ${s.value}, ${s.called});\n\n`);
    }
  }
  yield opts.dataOnly ? Buffer.from(trailer) : await section('post-data');
}

/**
 * The embedded database's restore: no psql to run meta-commands or feed COPY rows, so the script
 * (already checked, its head rewritten, split by lib/sqlScript's splitScript, which drops
 * meta-command lines unrun) runs in one transaction: the preamble, each SQL run through the
 * multi-statement exec, each COPY block from an in-memory blob. Any error rolls it all back.
 */
export async function restoreEmbedded(pglite: PGlite, schema: string, preamble: string, parts: AsyncIterable<ScriptPart>): Promise<void> {
  await pglite.exec('begin');
  try {
    // An empty search_path first, as pg_dump's scripts set it: a bare name is an error, never a table of the schema.
    await pglite.exec(`${preamble}select pg_catalog.set_config('search_path', '', false);`);
    for await (const part of parts) {
      if (part.kind === 'sql') await pglite.exec(part.text);
      else await pglite.query(part.statement.replace(/FROM stdin;$/, "FROM '/dev/blob'"), [], { blob: new Blob([part.data as Uint8Array<ArrayBuffer>]) });
    }
    await pglite.exec('commit');
  } catch (err) {
    await pglite.exec('rollback').catch(() => undefined);
    throw err;
  } finally {
    // The script set search_path to '' for the session; later queries expect the schema.
    await pglite.query('select pg_catalog.set_config($1, $2, false)', ['search_path', ident(schema)]).catch(() => undefined);
  }
}
