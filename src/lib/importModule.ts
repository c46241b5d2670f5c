import { pathToFileURL } from 'node:url';

/**
 * Imports a JavaScript or TypeScript file. Node 20 cannot load TypeScript, so a `.ts` file it
 * refuses goes through tsx: a migration made by `migrate make` then runs with no build step,
 * from a clone and from an installed package alike. (Under jest the test transform loads it.)
 */
export async function importModule<T>(file: string): Promise<T> {
  const url = pathToFileURL(file).href;
  try {
    return (await import(url)) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  }
  const { tsImport } = await import('tsx/esm/api');
  return (await tsImport(url, import.meta.url)) as T;
}
