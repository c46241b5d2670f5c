import path from 'node:path';
import type { Knex } from 'knex';
import { type Database, knexInSchema } from '../db/connect.js';
import { CancelledError, OperationError, userCodeError } from '../errors.js';
import { importModule } from '../lib/importModule.js';
import { readDirectory } from '../lib/readDirectory.js';

interface SeedModule {
  seed(knex: Knex): Promise<void>;
}

/** The seed files of the directory, in name order: read before the database is opened, so a wrong directory fails at once. */
export function seedFiles(dir: string): string[] {
  return readDirectory(dir, 'seeds directory', 'set BINDU_DB_SEEDS_DIR to a directory of seed files, or unset it for the sample data')
    .filter((f) => /\.(ts|js|mjs)$/.test(f) && !/\.d\.[cm]?ts$/.test(f));
}

/**
 * Runs the seed files (seedFiles) of the directory in order, all in one transaction. Interrupted
 * (`signal`), it stops before the next file, or before committing, and rolls everything back.
 */
export async function runSeeds(db: Database, dir: string, files: string[], opts: { signal?: AbortSignal; onFile?: (name: string) => void } = {}): Promise<{ files: string[] }> {
  const names: string[] = [];
  const stopIfInterrupted = () => {
    if (opts.signal?.aborted) throw new CancelledError('interrupted: the seeds were rolled back; nothing was loaded');
  };
  await knexInSchema(db.knex, db.schema, async (trx) => {
    for (const file of files) {
      stopIfInterrupted();
      const module = await importModule<Partial<SeedModule>>(path.join(dir, file));
      if (typeof module.seed !== 'function') throw new OperationError(`${file} is not a seed file: it must export seed(knex)`);
      opts.onFile?.(file);
      try {
        await module.seed(trx);
      } catch (err) {
        throw userCodeError(`seed ${file} failed`, err, 'fix the seed file: nothing was loaded (the seeds run in one transaction)');
      }
      names.push(file);
    }
    stopIfInterrupted(); // the last chance to roll back
  });
  return { files: names };
}
