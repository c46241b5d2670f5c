import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { OperationError, RefusedError, UsageError } from '../errors.js';
import { readDirectory } from '../lib/readDirectory.js';
import { importModule } from '../lib/importModule.js';
import { packageRoot } from '../lib/packageRoot.js';

/** What a migration file exports. */
export interface MigrationModule {
  /** The migration this one builds on (Alembic's down_revision); null for the first. */
  revises: string | null;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
  /** false for statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY). */
  transaction?: boolean;
}

/**
 * A migration as read from disk, without running it: `status` and `history` need only names,
 * the `revises` chain and checksums, so they never import a migration (nor tsx for `.ts` ones).
 */
export interface Migration {
  /** File name without extension: the same whether it runs from .ts or compiled .js. */
  name: string;
  file: string;
  /** The directory it came from: the package's (the Bindu schema) or the project's own. */
  dir: string;
  origin: 'package' | 'project';
  revises: string | null;
  /** sha256 of its source with line endings normalised; what `migrate up` records. */
  checksum: string;
  /** Imports the module; only `up` and `down` do, and only for the migrations they run. */
  load(): Promise<MigrationModule>;
}

/** Where the build writes the package's migrations, compiled, with their manifest. */
export const PACKAGE_MIGRATIONS_DIR = path.join(packageRoot, 'dist', 'migrations');
/** The package's migration sources (present in a checkout, not in an installed package). */
export const PACKAGE_SOURCES_DIR = path.join(packageRoot, 'migrations');
export const MANIFEST_FILE = 'manifest.json';

/** One entry of the manifest the build writes beside the compiled migrations. */
export interface ManifestEntry {
  name: string;
  revises: string | null;
  /** Of the .ts source, so a migration checksums the same compiled or not. */
  checksum: string;
}

const MIGRATION_FILE = /^(?!.*\.d\.[cm]?ts$)(.+)\.(ts|js|mjs|mts)$/;
/** Read as a migration would be, it would be skipped in silence: said instead. */
const COMMONJS_FILE = /^(?!.*\.d\.cts$).+\.(cjs|cts)$/;

/** Migration files of a directory by name; for a name present as both .ts and .js the .ts wins. */
export function listMigrationFiles(dir: string): Map<string, string> {
  const entries = readDirectory(dir, 'migrations directory', 'set BINDU_DB_MIGRATIONS_DIR or pass --migrations-dir');
  const files = new Map<string, string>();
  for (const entry of entries) {
    if (COMMONJS_FILE.test(entry) && !entry.startsWith('_') && !entry.startsWith('.')) {
      throw new OperationError(`${path.join(dir, entry)} is CommonJS: migrations are ES modules (export const revises, up and down)`, `rename it to .${entry.endsWith('.cts') ? 'ts' : 'mjs'} and write its exports with export`);
    }
    const match = MIGRATION_FILE.exec(entry);
    if (!match || entry.startsWith('_') || entry.startsWith('.')) continue;
    const name = match[1];
    if (!files.has(name) || match[2] === 'ts') files.set(name, path.join(dir, entry));
  }
  return files;
}

/** The checksum recorded for a migration: line endings normalised, so a checkout on Windows agrees. */
export function sourceChecksum(source: string): string {
  return createHash('sha256').update(source.replace(/\r\n?/g, '\n')).digest('hex');
}

const REVISES_EXPORT = /^[ \t]*export\s+const\s+revises\s*(?::[^=\n]+)?=\s*(?:null|'([^'\\\n]*)'|"([^"\\\n]*)"|`([^`\\$\n]*)`)\s*(?:as\s+const\s*)?(?:;|$)/m;

/**
 * The `revises` export read from the source text, without running it. It must be a literal
 * (what `migrate make` writes); a computed one cannot be read and is an error naming the file.
 */
export function readRevises(source: string, file: string): string | null {
  const match = REVISES_EXPORT.exec(source);
  if (!match) {
    throw new OperationError(
      `cannot read what ${file} revises without running it`,
      "write it as a literal export: export const revises = '<name of the migration it builds on>'; (or null for the first)",
    );
  }
  return match[1] ?? match[2] ?? match[3] ?? null;
}

/**
 * Orders migrations by what each revises, not by file name: the seed's
 * 20250614_0001_add_webhook_configs_table sorts first but builds on 20251207_0001_initial_schema.
 * `base`: names that come before these (the package's migrations, for a project's): the chain
 * starts from the one migration revising any of them, and none may revise nothing.
 */
export function orderByRevision(items: ReadonlyArray<{ name: string; revises: string | null }>, base: readonly string[] = []): string[] {
  if (items.length === 0) return [];
  const names = new Set(items.map((m) => m.name));
  const below = new Set(base);
  const childOf = new Map<string, string>();
  let first: { name: string; revises: string | null } | undefined;
  for (const m of items) {
    if (base.length > 0 && m.revises === null) {
      throw new OperationError(`migration ${m.name} revises nothing, but the package's migrations come first`, `make it revise the package's head: export const revises = '${base.at(-1)}';`);
    }
    if (m.revises === null || below.has(m.revises)) {
      if (first) {
        const parent = m.revises === null ? 'nothing (both claim to be the first migration)' : first.revises === m.revises ? m.revises : `the package's migrations (${first.revises} and ${m.revises})`;
        throw new OperationError(`migrations ${first.name} and ${m.name} both revise ${parent}`, 'make one of them revise the other, so the history is a single line');
      }
      first = m;
      continue;
    }
    if (!names.has(m.revises)) throw new OperationError(`migration ${m.name} revises ${m.revises}, which does not exist`);
    const sibling = childOf.get(m.revises);
    if (sibling !== undefined) {
      throw new OperationError(`migrations ${sibling} and ${m.name} both revise ${m.revises}`, 'make one of them revise the other, so the history is a single line');
    }
    childOf.set(m.revises, m.name);
  }
  const order: string[] = [];
  for (let next = first?.name; next !== undefined; next = childOf.get(next)) order.push(next);
  if (order.length !== items.length) {
    const stray = items.filter((m) => !order.includes(m.name)).map((m) => m.name);
    throw new OperationError(`migrations ${stray.join(', ')} form a cycle: none of them leads back to the first migration`);
  }
  return order;
}

/** Imports a migration and checks it is one, and that it revises what its source said. */
async function importMigration(file: string, revises: string | null): Promise<MigrationModule> {
  let module: Partial<MigrationModule>;
  try {
    module = await importModule<Partial<MigrationModule>>(file);
  } catch (err) {
    // importModule names the file already; say once that it is a migration, with the reason.
    const reason = (err as Error)?.message?.replace(`cannot load ${file}: `, '') ?? String(err);
    throw new OperationError(`cannot load migration ${file}: ${reason}`, 'fix or remove the file', err);
  }
  if (typeof module.up !== 'function' || typeof module.down !== 'function' || module.revises === undefined) {
    throw new OperationError(`${file} is not a migration: it must export revises, up and down`);
  }
  if (module.revises !== revises) {
    throw new OperationError(`${file} revises ${module.revises} when run, but ${revises} as written`, "keep revises a literal: export const revises = '<name>';");
  }
  return module as MigrationModule;
}

/** The migrations of one directory, read without running them (a project's, or the package's sources). */
export function readMigrationDir(dir: string, origin: Migration['origin']): Migration[] {
  return [...listMigrationFiles(dir)].map(([name, file]) => {
    const source = fs.readFileSync(file, 'utf8');
    const revises = readRevises(source, file);
    return { name, file, dir, origin, revises, checksum: sourceChecksum(source), load: () => importMigration(file, revises) };
  });
}

/**
 * The package's migrations, compiled, from the manifest the build wrote. The manifest must
 * name exactly the compiled files; in a checkout it must also match the sources (else dist/ is
 * stale: the build was not run after a migration changed).
 */
export function readPackageMigrations(dir = PACKAGE_MIGRATIONS_DIR, sources = PACKAGE_SOURCES_DIR): Migration[] {
  let manifest: ManifestEntry[];
  try {
    manifest = (JSON.parse(fs.readFileSync(path.join(dir, MANIFEST_FILE), 'utf8')) as { migrations: ManifestEntry[] }).migrations;
  } catch (err) {
    throw new OperationError(`the package's migrations are not built (${path.join(dir, MANIFEST_FILE)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'run npm run build, or reinstall bindu-db');
  }
  const compiled = listMigrationFiles(dir);
  const listed = new Set(manifest.map((m) => m.name));
  const differ = [...manifest.filter((m) => !compiled.has(m.name)).map((m) => `${m.name} missing`), ...[...compiled.keys()].filter((n) => !listed.has(n)).map((n) => `${n} not in the manifest`)];
  if (fs.existsSync(sources)) {
    const byName = new Map(manifest.map((m) => [m.name, m]));
    for (const m of readMigrationDir(sources, 'package')) {
      const built = byName.get(m.name);
      if (!built) differ.push(`${m.name} not built`);
      else if (built.checksum !== m.checksum || built.revises !== m.revises) differ.push(`${m.name} changed since the build`);
    }
  }
  if (differ.length > 0) {
    throw new OperationError(`the package's compiled migrations do not match their manifest: ${differ.join(', ')}`, 'run npm run build (in a checkout), or reinstall bindu-db');
  }
  const migrations: Migration[] = manifest.map((m) => {
    const file = compiled.get(m.name)!;
    return { ...m, file, dir, origin: 'package', load: () => importMigration(file, m.revises) };
  });
  const order = orderByRevision(migrations);
  return order.map((name) => migrations.find((m) => m.name === name)!);
}

/** True when dir is the package's own migration sources (the cwd is a checkout of bindu-db itself). */
function isPackageSources(dir: string): boolean {
  try {
    return fs.realpathSync(dir) === fs.realpathSync(PACKAGE_SOURCES_DIR);
  } catch {
    return false;
  }
}

/**
 * The project's migrations directory: the one given (--migrations-dir, BINDU_DB_MIGRATIONS_DIR),
 * else `./migrations` of the working directory when it exists and is not the package's own.
 */
export function projectMigrationsDir(given: string | undefined, cwd: string): string | undefined {
  const dir = path.resolve(cwd, given ?? 'migrations');
  if (isPackageSources(dir)) return undefined; // those are the package's own, compiled
  return given !== undefined || fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory() ? dir : undefined;
}

/** Every migration in the order it applies: the package's (the Bindu schema) first, then the project's. */
export function readMigrations(projectDir?: string): Migration[] {
  const ours = readPackageMigrations();
  if (projectDir === undefined) return ours;
  const theirs = readMigrationDir(projectDir, 'project');
  const clash = theirs.find((m) => ours.some((o) => o.name === m.name));
  if (clash) throw new OperationError(`project migration ${clash.file} has the name of one of the package's`, 'rename it: names are unique across both');
  const order = orderByRevision(theirs, ours.map((m) => m.name));
  return [...ours, ...order.map((name) => theirs.find((m) => m.name === name)!)];
}

const NEW_NAME = /^[a-z][a-z0-9_]{0,59}$/;

function template(revises: string | null): string {
  return `import type { Knex } from 'knex';

/** The migration this one builds on; migrations run in the order this chain gives. Keep it a literal. */
export const revises = ${JSON.stringify(revises)};

export async function up(knex: Knex): Promise<void> {
  // await knex.schema.alterTable('tasks', (table) => { table.text('note'); });
}

export async function down(knex: Knex): Promise<void> {
  // await knex.schema.alterTable('tasks', (table) => { table.dropColumn('note'); });
}
`;
}

/**
 * Where `migrate make` writes: the directory given, else `./migrations` of the working
 * directory (made if needed). Never inside node_modules, where a reinstall deletes it.
 */
export function makeTargetDir(given: string | undefined, cwd: string, name: string): string {
  checkNewName(name); // before anything is made
  const dir = path.resolve(cwd, given ?? 'migrations');
  if (dir.split(path.sep).includes('node_modules')) {
    throw new RefusedError(`will not write a migration inside node_modules (${dir}): a reinstall deletes it`, "run it from your project's directory, or pass --migrations-dir <dir> (BINDU_DB_MIGRATIONS_DIR)");
  }
  fs.mkdirSync(dir, { recursive: true }); // made now: the chain the new file revises is read from it
  return dir;
}

function checkNewName(name: string): void {
  if (!NEW_NAME.test(name)) {
    throw new UsageError(`invalid migration name "${name}"`, 'use lowercase letters, digits and _ (e.g. add_task_priority), at most 60 characters');
  }
}

/** Writes a new TypeScript migration revising the current head; returns its path. */
export function makeMigrationFile(dir: string, name: string, head: string | null, now = new Date()): { path: string; name: string } {
  checkNewName(name);
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  const taken = [...listMigrationFiles(dir).keys()];
  const sameDay = taken.filter((n) => n.startsWith(`${day}_`)).map((n) => Number(n.split('_')[1]) || 0);
  const seq = String(Math.max(0, ...sameDay) + 1).padStart(4, '0');
  const full = `${day}_${seq}_${name}`;
  const file = path.join(dir, `${full}.ts`);
  fs.writeFileSync(file, template(head), { flag: 'wx' });
  return { path: file, name: full };
}
