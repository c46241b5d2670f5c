import fs from 'node:fs';
import path from 'node:path';
import { extractTarGz } from '../lib/untar.js';
import { packageRoot } from '../lib/packageRoot.js';

/** The PostgreSQL major the pinned PGlite embeds; a data directory from another major cannot be opened. */
export const EMBEDDED_PG_MAJOR = '18';

/** Where the build puts the template data directory (PGlite's dumpDataDir of a fresh instance), under dist/. */
export const EMBEDDED_TEMPLATE = path.join('embedded', 'datadir.tar.gz');

/**
 * PGlite's defaults plus a small shared_buffers: its 128MB of shared buffers are most of an
 * instance's memory, and one short CLI command never fills more than a few MB of them.
 */
export function embeddedStartParams(defaults: readonly string[]): string[] {
  return [...defaults, '-c', 'shared_buffers=16MB'];
}

/**
 * Makes a new data directory from the template the build wrote, instead of PGlite's initdb:
 * extracted beside it, checked to be our PostgreSQL major, then renamed into place, so a crash
 * never leaves half a directory. Returns false (PGlite then runs initdb) when there is no
 * usable template, as when running from sources that were never built.
 */
export function startFromTemplate(dataDir: string, template = path.join(packageRoot, 'dist', EMBEDDED_TEMPLATE)): boolean {
  let archive: Buffer;
  try {
    archive = fs.readFileSync(template);
  } catch {
    return false;
  }
  const staging = `${dataDir}.new-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    // postmaster.pid is in PGlite's dump of a live instance; it belongs to no process here.
    extractTarGz(archive, staging, (name) => name === 'postmaster.pid');
    if (fs.readFileSync(path.join(staging, 'PG_VERSION'), 'utf8').trim() !== EMBEDDED_PG_MAJOR) return false;
    fs.renameSync(staging, dataDir);
    return true;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
