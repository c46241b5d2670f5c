import type { PGlite } from '@electric-sql/pglite';
import type { ScriptPart } from '../lib/sqlScript.js';
import { ident } from '../lib/sqlIdent.js';

// Backup and restore for the embedded database, in process: PGlite has no server to point
// pg_dump or psql at. PGlite is one session, so nothing else runs between BEGIN and COMMIT.

/** A plain SQL dump made by PGlite's own pg_dump (WebAssembly). */
export async function dumpEmbedded(pglite: PGlite, args: string[]): Promise<Uint8Array> {
  const { pgDump } = await import('@electric-sql/pglite-tools');
  const file = await pgDump({ pg: pglite, args });
  return new Uint8Array(await file.arrayBuffer());
}

/**
 * Runs a split script in one transaction: the preamble, each SQL run through the
 * multi-statement exec, each COPY block from an in-memory blob. Any error rolls it all back.
 */
export async function restoreEmbedded(pglite: PGlite, schema: string, preamble: string, parts: AsyncIterable<ScriptPart>): Promise<void> {
  await pglite.exec('begin');
  try {
    if (preamble) await pglite.exec(preamble);
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
