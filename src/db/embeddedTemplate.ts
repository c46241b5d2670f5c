import fs from 'node:fs';
import path from 'node:path';
import { OperationError } from '../errors.js';
import { ownedName, removeAbandoned } from '../lib/leftovers.js';
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

/** In a directory being filled in place until its last entry (PG_VERSION) is in: a run killed meanwhile left it. */
export const FILLING_MARK = '.bindu-db-filling';

/**
 * In a directory made from the head template until its migration log is stamped with the time it
 * was made (restampApplied); it names the schema. A run killed before that leaves it for the next.
 */
export const RESTAMP_MARK = '.bindu-db-restamp';

/** The data directory's lock (lib/fileLock.ts), inside it: every path to the directory meets the same one. */
export const EMBEDDED_LOCK = '.bindu-db.lock';

/** Staging inside a directory being filled. */
const STAGING = '.bindu-db-new-';

/** Entries a new data directory is filled around and never removes: its lock (and its takeover guard), a volume root's lost+found. */
const leftAlone = (name: string) => name.startsWith(EMBEDDED_LOCK) || name === 'lost+found';

/**
 * Whether a new data directory may be made in this existing one: it is empty but for what a run
 * killed while filling it left (its staging, or entries it moved in under FILLING_MARK).
 */
export function fillable(dataDir: string): boolean {
  const names = fs.readdirSync(dataDir).filter((name) => !leftAlone(name));
  return names.includes(FILLING_MARK) || names.every((name) => name.startsWith(STAGING));
}

/**
 * Fills a new data directory (existing, empty: the caller made it, or it is a mount point such as
 * a container's volume, or a link to one) from the template the build wrote, instead of PGlite's
 * initdb: extracted inside it, checked to be our PostgreSQL major, then moved in entry by entry,
 * PG_VERSION last, so that a directory is whole once it has one. Returns false (PGlite then runs
 * initdb) when there is no usable template, as when running from sources that were never built.
 * `restamp`: the schema whose migration log restampApplied must stamp.
 */
export function startFromTemplate(dataDir: string, template = path.join(packageRoot, 'dist', EMBEDDED_TEMPLATE), opts: { restamp?: string } = {}): boolean {
  let archive: Buffer;
  try {
    archive = fs.readFileSync(template);
  } catch {
    return false;
  }
  removeAbandoned(dataDir, STAGING); // what runs killed outright left
  const staging = path.join(dataDir, ownedName(STAGING));
  try {
    // postmaster.pid is in PGlite's dump of a live instance; it belongs to no process here.
    extractTarGz(archive, staging, (name) => name === 'postmaster.pid');
    if (fs.readFileSync(path.join(staging, 'PG_VERSION'), 'utf8').trim() !== EMBEDDED_PG_MAJOR) return false;
    if (opts.restamp !== undefined) fs.writeFileSync(path.join(staging, RESTAMP_MARK), opts.restamp);
    fillInPlace(staging, dataDir);
    return true;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

function fillInPlace(staging: string, dataDir: string): void {
  const mark = path.join(dataDir, FILLING_MARK);
  const names = fs.readdirSync(staging).filter((name) => name !== 'PG_VERSION');
  // What a killed run moved in is ours to remove: the template's entries, never anything else
  // (a mark can be planted, or --data-dir point at the wrong directory).
  if (fs.existsSync(mark)) {
    const found = fs.readdirSync(dataDir).filter((name) => name !== FILLING_MARK && !name.startsWith(STAGING) && !leftAlone(name));
    const foreign = found.find((name) => !names.includes(name));
    if (foreign !== undefined) throw new OperationError(`${dataDir} holds ${foreign}, which no embedded data directory does: nothing was removed`, 'point --data-dir (or BINDU_DB_DATA_DIR) at an empty directory or at a path that does not exist yet');
    for (const name of found) fs.rmSync(path.join(dataDir, name), { recursive: true, force: true });
  }
  fs.writeFileSync(mark, '');
  for (const name of [...names, 'PG_VERSION']) fs.renameSync(path.join(staging, name), path.join(dataDir, name));
  fs.rmSync(mark);
}
