import fs from 'node:fs';
import path from 'node:path';
import { extractTarGz } from '../lib/untar.js';
import { packageRoot } from '../lib/packageRoot.js';

/** The PostgreSQL major the pinned PGlite embeds; a data directory from another major cannot be opened. */
export const EMBEDDED_PG_MAJOR = '18';

/** Where the build puts the template data directory (PGlite's dumpDataDir of a fresh instance), under dist/. */
export const EMBEDDED_TEMPLATE = path.join('embedded', 'datadir.tar.gz');

/** The template with the package's migrations applied (see HeadTemplate), and its description. */
export const EMBEDDED_HEAD_TEMPLATE = path.join('embedded', 'datadir-head.tar.gz');
export const EMBEDDED_HEAD_DESCRIPTION = path.join('embedded', 'datadir-head.json');

/**
 * What the build applied to the head template: the package's migrations, in the default schema,
 * by `migrate up`'s own code. A new directory starts from it only when exactly these would be
 * applied to it next, in that schema; its migration log is then the one applying them writes.
 */
export interface HeadTemplate {
  schema: string;
  migrations: Array<{ name: string; checksum: string }>;
}

/**
 * The head template's archive when it holds exactly `wanted` in `schema`; undefined (start from
 * the bare template and migrate) when it is absent, stale or for another schema.
 */
export function headTemplateFor(schema: string, wanted: HeadTemplate['migrations'], dist = path.join(packageRoot, 'dist')): string | undefined {
  let made: HeadTemplate;
  try {
    made = JSON.parse(fs.readFileSync(path.join(dist, EMBEDDED_HEAD_DESCRIPTION), 'utf8')) as HeadTemplate;
  } catch {
    return undefined;
  }
  const same = made.schema === schema && made.migrations.length === wanted.length && made.migrations.every((m, i) => m.name === wanted[i].name && m.checksum === wanted[i].checksum);
  return same ? path.join(dist, EMBEDDED_HEAD_TEMPLATE) : undefined;
}

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
