import type { PGlite } from '@electric-sql/pglite';
import { restoreEmbedded } from '../../db/embedded.js';
import { splitScript } from '../../lib/sqlScript.js';

/**
 * The embedded database's runner: no psql to run meta-commands or feed COPY rows, so the script
 * (already checked, head rewritten) is split into SQL runs and COPY blocks, and PGlite runs them
 * in one transaction; meta-command lines are dropped, never run.
 */
export async function restoreIntoEmbedded(pglite: PGlite, schema: string, preamble: string, script: AsyncIterable<Buffer>): Promise<void> {
  await restoreEmbedded(pglite, schema, preamble, splitScript(script));
}
