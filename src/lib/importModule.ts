import { pathToFileURL } from 'node:url';
import { OperationError } from '../errors.js';
import { importEsm } from './esm.js';

/**
 * Imports a JavaScript or TypeScript file. Node 20 cannot load TypeScript, so a `.ts` file it
 * refuses goes through tsx: a migration made by `migrate make` then runs with no build step,
 * from a clone and from an installed package alike. (Under jest the test transform loads it.)
 * A file that fails to load (a syntax error, a throw at its top level) is named in one line.
 */
export async function importModule<T>(file: string): Promise<T> {
  try {
    return await load<T>(file);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new OperationError(`cannot load ${file}: ${message.split('\n').find((l) => l.trim() !== '') ?? 'it threw'}`, 'fix or remove the file', err);
  }
}

async function load<T>(file: string): Promise<T> {
  const url = pathToFileURL(file).href;
  try {
    return await importEsm<T>(url);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  const { tsImport } = await importEsm<typeof import('tsx/esm/api')>('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as T;
}
