// npm run build: the CLI bundle, the package's migrations compiled with their manifest, and the
// embedded database's template data directory. Run with tsx (it reads migrations the way the CLI does).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Plugin, build } from 'esbuild';
import { BUILT_FILE, buildKey } from './buildKey.js';
import { loadConfig } from '../src/config.js';
import { MANIFEST_FILE, type ManifestEntry, orderByRevision, readMigrationDir, readPackageMigrations } from '../src/core/migrationFiles.js';
import { up } from '../src/core/migrations.js';
import { openDatabase } from '../src/db/connect.js';
import { EMBEDDED_HEAD_DESCRIPTION, EMBEDDED_HEAD_TEMPLATE, EMBEDDED_PG_MAJOR, EMBEDDED_TEMPLATE, type HeadTemplate } from '../src/db/embeddedTemplate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const key = buildKey(root); // of the inputs as they are now: one edited while this runs builds again
fs.rmSync(dist, { recursive: true, force: true });

// commander requires child_process as it loads, for executable subcommands, which bindu-db has
// none of: ~4 ms of every start, --help's included. Here it is required only if one is spawned.
const lazyChildProcess: Plugin = {
  name: 'commander-lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const text = fs.readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!text.includes(eager)) throw new Error(`${args.path} no longer requires child_process as the build expects: update lazyChildProcess`);
      return { contents: text.replace(eager, "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };"), loader: 'js' };
    });
  },
};

// Heavy dependencies stay external: each command imports only what it uses, so --help loads none.
// node-pg is bundled: it is required only when a command connects, and compiled into the cache below.
const external = ['knex', 'knex-pglite', 'pg-native', '@electric-sql/*', 'ora', '@inquirer/*', 'tsx'];
// Two CommonJS files: a command that talks to PostgreSQL then never starts Node's ES module loader
// (~35 ms of every such command, measured: tasks list and migrate status 218 → 182 ms of CPU).
// dist/cli.cjs is the command line (commander, main.ts); dist/commands.cjs the commands, which the
// first loads through the bin once one is named: --help then deserializes a code cache a tenth the
// size (~5 ms less of its ~14 above node's own start). Within each, modules imported dynamically stay
// unevaluated until used; the ESM-only dependencies (ora, Inquirer, PGlite, tsx) are imported
// dynamically, which CommonJS can do.
const commandsApart: Plugin = {
  name: 'commands-apart',
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/index\.js$/ }, (args) => (args.importer.endsWith(path.join('src', 'cli', 'main.ts')) ? { path: 'commands.cjs', namespace: 'commands-apart' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'commands-apart' }, () => ({ contents: "module.exports = globalThis[Symbol.for('bindu-db.bundle')]('commands.cjs');", loader: 'js' }));
  },
};
const bundles = { cli: 'src/cli/main.ts', commands: 'src/cli/commands/index.ts' };
await build({
  entryPoints: Object.entries(bundles).map(([out, entry]) => ({ in: path.join(root, entry), out })),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outdir: dist,
  outExtension: { '.js': '.cjs' },
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
  define: { 'import.meta.url': 'importMetaUrl' },
  inject: [path.join(root, 'scripts/importMetaUrl.js')],
  external,
  plugins: [lazyChildProcess, commandsApart],
});
// Each bundle's V8 code cache, which bin/bindu-db.cjs runs it from: every function compiled now
// (--no-lazy), none at each start (a command on PostgreSQL: about 50 ms of CPU less). Made by a node
// without flags, as the bin runs: V8 refuses a cache made under other flags (--lazy is restored
// before it is written, for that reason), and a cache from another Node version. Each is compiled
// under the name bin/bindu-db.cjs runs it under, which traces show: never this machine's path.
const makeCache = `const fs = require('node:fs'), Module = require('node:module'), path = require('node:path'), v8 = require('node:v8'), vm = require('node:vm');
for (const file of process.argv.slice(1)) {
  v8.setFlagsFromString('--no-lazy');
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: 'bindu-db/dist/' + path.basename(file) });
  v8.setFlagsFromString('--lazy');
  fs.writeFileSync(file + '.cache', script.createCachedData());
}`;
const { NODE_OPTIONS: _, ...cleanEnv } = process.env;
const made = spawnSync(process.execPath, ['-e', makeCache, ...Object.keys(bundles).map((name) => path.join(dist, `${name}.cjs`))], { env: cleanEnv, stdio: 'inherit' });
if (made.status !== 0) throw new Error(`making the code caches of the bundles in ${dist} failed`);

// The package's migrations run compiled: no transpiler at run time. The manifest carries each
// one's revises and the checksum of its .ts source, so status and history read nothing else.
const sources = readMigrationDir(path.join(root, 'migrations'), 'package');
const order = orderByRevision(sources);
await build({ entryPoints: sources.map((m) => m.file), outdir: path.join(dist, 'migrations'), format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
const manifest: ManifestEntry[] = order.map((name) => sources.find((m) => m.name === name)!).map(({ name, revises, checksum }) => ({ name, revises, checksum }));
fs.writeFileSync(path.join(dist, 'migrations', MANIFEST_FILE), `${JSON.stringify({ migrations: manifest }, null, 2)}\n`);

// A new embedded data directory starts from this template instead of running PGlite's initdb
// (seconds, and ~850 MiB at its peak). Made once per PGlite version and cached.
// It holds the one database PGlite opens, postgres: template0 and template1 serve only CREATE
// DATABASE, which nothing run on the embedded database does, and they are two thirds of its
// files (~600), each a new file that every new data directory writes.
const ONLY_POSTGRES = ["update pg_catalog.pg_database set datistemplate = false where datname in ('template0', 'template1')", 'drop database template0', 'drop database template1'];
const pgliteVersion = (JSON.parse(fs.readFileSync(path.join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string }).version;
const cacheDir = path.join(root, 'node_modules', '.cache', 'bindu-db');
const dump = async (dataDir: string | undefined, file: string, before: string[] = []) => {
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create(dataDir);
  const major = (await pg.query<{ v: string }>("select current_setting('server_version_num')::int / 10000 as v")).rows[0].v;
  if (String(major) !== EMBEDDED_PG_MAJOR) throw new Error(`PGlite ${pgliteVersion} embeds PostgreSQL ${major}, but EMBEDDED_PG_MAJOR is ${EMBEDDED_PG_MAJOR}`);
  for (const statement of before) await pg.exec(statement); // one by one: DROP DATABASE runs outside a transaction
  const tarball = await pg.dumpDataDir('gzip');
  await pg.close();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(`${file}.partial`, Buffer.from(await tarball.arrayBuffer()));
  fs.renameSync(`${file}.partial`, file);
};
const cached = path.join(cacheDir, `pglite-${pgliteVersion}-datadir-${createHash('sha256').update(ONLY_POSTGRES.join(';')).digest('hex').slice(0, 16)}.tar.gz`);
if (!fs.existsSync(cached)) await dump(undefined, cached, ONLY_POSTGRES);
const template = path.join(dist, EMBEDDED_TEMPLATE);
fs.mkdirSync(path.dirname(template), { recursive: true });
fs.copyFileSync(cached, template);

// The same with the package's migrations applied in the default schema, by the code `migrate up`
// runs, from the template above: a first command that would bring a new directory up to date
// starts there. Its description says which migrations it holds (the run checks they are ours).
const head: HeadTemplate = { schema: loadConfig({}, {}).schema, migrations: manifest.map(({ name, checksum }) => ({ name, checksum })) };
// Keyed by what goes into it: the migrations, and the code that applies them and writes their log.
const writers = ['src/core/migrations.ts', 'src/db/migrationLog.ts'].map((f) => fs.readFileSync(path.join(root, f), 'utf8'));
const headKey = createHash('sha256').update(JSON.stringify([head, path.basename(cached), ...writers])).digest('hex').slice(0, 16);
const cachedHead = path.join(cacheDir, `pglite-${pgliteVersion}-datadir-head-${headKey}.tar.gz`);
if (!fs.existsSync(cachedHead)) {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-db-build-'));
  try {
    const dataDir = path.join(scratch, 'db');
    const db = await openDatabase(loadConfig({ dataDir }, {}));
    try {
      await up(db, readPackageMigrations(), { lockTimeoutSeconds: 10 });
    } finally {
      await db.close();
    }
    await dump(dataDir, cachedHead);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
fs.copyFileSync(cachedHead, path.join(dist, EMBEDDED_HEAD_TEMPLATE));
fs.writeFileSync(path.join(dist, EMBEDDED_HEAD_DESCRIPTION), `${JSON.stringify(head, null, 2)}\n`);

// Written last: a build that failed or was stopped leaves none, and prepare builds again.
const files = fs.readdirSync(dist, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dist, path.join(e.parentPath, e.name)));
fs.writeFileSync(path.join(dist, BUILT_FILE), `${JSON.stringify({ key, files }, null, 2)}\n`);
