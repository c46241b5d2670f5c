// npm run build: the CLI bundle, the package's migrations compiled with their manifest, and the
// embedded database's template data directory. Run with tsx (it reads migrations the way the CLI does).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { MANIFEST_FILE, type ManifestEntry, orderByRevision, readMigrationDir } from '../src/core/migrationFiles.js';
import { EMBEDDED_PG_MAJOR, EMBEDDED_TEMPLATE } from '../src/db/embeddedTemplate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.rmSync(dist, { recursive: true, force: true });

// Heavy dependencies stay external: each command imports only what it uses, so --help loads none.
const external = ['knex', 'knex-pglite', 'pg', '@electric-sql/*', 'ora', '@inquirer/*', 'tsx'];
await build({
  entryPoints: [path.join(root, 'src/cli/main.ts')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: dist,
  chunkNames: 'chunks/[name]-[hash]',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
  // The shebang: package.json's bin is dist/main.js itself, one module fewer to load on every
  // start than going through bin/bindu-db.js (which a checkout still runs).
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  external,
});

// The package's migrations run compiled: no transpiler at run time. The manifest carries each
// one's revises and the checksum of its .ts source, so status and history read nothing else.
const sources = readMigrationDir(path.join(root, 'migrations'), 'package');
const order = orderByRevision(sources);
await build({ entryPoints: sources.map((m) => m.file), outdir: path.join(dist, 'migrations'), format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
const manifest: ManifestEntry[] = order.map((name) => sources.find((m) => m.name === name)!).map(({ name, revises, checksum }) => ({ name, revises, checksum }));
fs.writeFileSync(path.join(dist, 'migrations', MANIFEST_FILE), `${JSON.stringify({ migrations: manifest }, null, 2)}\n`);

// A new embedded data directory starts from this template instead of running PGlite's initdb
// (seconds, and ~850 MiB at its peak). Made once per PGlite version and cached.
const pgliteVersion = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
const cached = path.join(root, 'node_modules', '.cache', 'bindu-db', `pglite-${pgliteVersion}-datadir.tar.gz`);
if (!fs.existsSync(cached)) {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create();
  const major = (await pg.query<{ v: string }>("select current_setting('server_version_num')::int / 10000 as v")).rows[0].v;
  if (String(major) !== EMBEDDED_PG_MAJOR) throw new Error(`PGlite ${pgliteVersion} embeds PostgreSQL ${major}, but EMBEDDED_PG_MAJOR is ${EMBEDDED_PG_MAJOR}`);
  const tarball = await pg.dumpDataDir('gzip');
  await pg.close();
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  fs.writeFileSync(`${cached}.partial`, Buffer.from(await tarball.arrayBuffer()));
  fs.renameSync(`${cached}.partial`, cached);
}
const template = path.join(dist, EMBEDDED_TEMPLATE);
fs.mkdirSync(path.dirname(template), { recursive: true });
fs.copyFileSync(cached, template);
