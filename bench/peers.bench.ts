// bindu-db against the migration tools a user would pick instead (knex's CLI, dbmate), each given
// the same three migrations (the same SQL statements as ours), plus the floors (node -e 0,
// psql -1 -f) and the embedded database. Interleaved runs, medians, ratios printed in one run.
// The peers are installed from the registry into a scratch directory on first use.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cliEntry as bin, median } from './lib.js';
import { readPackageMigrations } from '../src/core/migrationFiles.js';
import { startTestServer, stopTestServer } from '../test/helpers/pgServer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Math.max(9, Number(process.env.BENCH_RUNS ?? 9));
const scratch = path.join(os.tmpdir(), 'bindu-db-bench-peers');

// --- the peers, installed once -------------------------------------------------------------
fs.mkdirSync(scratch, { recursive: true });
const knexBin = path.join(scratch, 'node_modules', '.bin', 'knex');
const dbmateBin = path.join(scratch, 'node_modules', '.bin', 'dbmate');
if (!fs.existsSync(knexBin) || !fs.existsSync(dbmateBin)) {
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'peers', private: true }));
  console.log(`installing knex, pg and dbmate into ${scratch} ...`);
  const r = spawnSync('npm', ['install', 'knex@^3.3.0', 'pg@^8', 'dbmate@^2', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: scratch, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm install of the peers failed');
}
const versionOf = (pkg: string) => (JSON.parse(fs.readFileSync(path.join(scratch, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;

// --- the same migrations for each tool: our statements, captured by running ours on a recorder ---
const ours = readPackageMigrations();
const statements: { name: string; up: string[]; down: string[] }[] = [];
for (const m of ours) {
  const module = (await import(pathToFileURL(m.file).href)) as { up(k: unknown): Promise<void>; down(k: unknown): Promise<void> };
  const record = async (fn: (k: unknown) => Promise<void>) => {
    const list: string[] = [];
    await fn({ raw: async (sql: string) => void list.push(sql) });
    return list;
  };
  statements.push({ name: m.name.replace(/^\d+_\d+_/, ''), up: await record(module.up), down: await record(module.down) });
}
const knexDir = path.join(scratch, 'knex-migrations');
const dbmateDir = path.join(scratch, 'dbmate-migrations');
for (const dir of [knexDir, dbmateDir]) fs.rmSync(dir, { recursive: true, force: true }), fs.mkdirSync(dir);
statements.forEach((m, i) => {
  const seq = String(i + 1).padStart(3, '0');
  fs.writeFileSync(
    path.join(knexDir, `${seq}_${m.name}.cjs`),
    `const up = ${JSON.stringify(m.up)};\nconst down = ${JSON.stringify(m.down)};\n` +
      'exports.up = async (knex) => { for (const s of up) await knex.raw(s); };\nexports.down = async (knex) => { for (const s of down) await knex.raw(s); };\n',
  );
  fs.writeFileSync(path.join(dbmateDir, `20250101000${seq}_${m.name}.sql`), `-- migrate:up\n${m.up.join(';\n')};\n\n-- migrate:down\n${m.down.join(';\n')};\n`);
});
fs.writeFileSync(path.join(scratch, 'knexfile.cjs'), `module.exports = { client: 'pg', connection: process.env.DATABASE_URL, migrations: { directory: ${JSON.stringify(knexDir)} } };\n`);
const allSql = path.join(scratch, 'all.sql');
fs.writeFileSync(allSql, `${statements.flatMap((m) => m.up).join(';\n')};\n`);

// --- a server, a fresh database per run ------------------------------------------------------
const server = await startTestServer();
process.on('SIGINT', () => (stopTestServer(server), process.exit(130)));
const urlOf = (db: string) => `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${db}?sslmode=disable`;
const baseEnv = { ...process.env, NO_COLOR: '1', PGPASSWORD: server.password, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: server.user };
const psql = path.join(server.bindir, 'psql');
let dbCount = 0;
const freshDb = () => {
  const name = `peer_${++dbCount}`;
  const r = spawnSync(psql, ['-d', 'postgres', '-qc', `create database ${name}`], { env: baseEnv, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return name;
};

type Cmd = { label: string; cmd: string; args: string[]; cwd?: string; env?: Record<string, string> };
const tools = (db: string): Record<'ours' | 'knex' | 'dbmate' | 'psql', Cmd> => {
  const env = { DATABASE_URL: urlOf(db), PGDATABASE: db };
  return {
    ours: { label: 'bindu-db', cmd: process.execPath, args: [bin], env },
    knex: { label: 'knex', cmd: knexBin, args: ['--knexfile', path.join(scratch, 'knexfile.cjs')], cwd: scratch, env },
    dbmate: { label: 'dbmate', cmd: dbmateBin, args: ['--migrations-dir', dbmateDir, '--no-dump-schema'], cwd: scratch, env },
    psql: { label: 'psql -1 -f', cmd: psql, args: ['-q', '-X', '-v', 'ON_ERROR_STOP=1', '-1', '-f', allSql], env },
  };
};
const withArgs = (c: Cmd, ...args: string[]): Cmd => ({ ...c, args: [...c.args, ...args] });

function time(c: Cmd): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd: c.cwd ?? scratch, env: { ...baseEnv, ...c.env }, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${c.label} ${c.args.slice(-2).join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** Six at once on one database: wall time until the last exits, and how many exited 0. */
async function sixAtOnce(c: Cmd): Promise<{ ms: number; ok: number }> {
  const t = process.hrtime.bigint();
  const codes = await Promise.all(
    Array.from({ length: 6 }, () => new Promise<number | null>((resolve) => spawn(c.cmd, c.args, { cwd: c.cwd ?? scratch, env: { ...baseEnv, ...c.env }, stdio: 'ignore' }).on('close', resolve))),
  );
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, ok: codes.filter((code) => code === 0).length };
}

/** Runs each measure once per round, in turn, RUNS rounds; `setup` makes what one round needs. */
async function interleave<K extends string>(measures: Record<K, (round: number) => number | Promise<number>>): Promise<Record<K, number>> {
  const samples = Object.fromEntries(Object.keys(measures).map((k) => [k, [] as number[]])) as unknown as Record<K, number[]>;
  for (let round = -1; round < RUNS; round++) {
    for (const k of Object.keys(measures) as K[]) {
      const ms = await measures[k](round);
      if (round >= 0) samples[k].push(ms); // round -1 warms the caches
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v as number[])])) as Record<K, number>;
}

const row = (what: string, oursMs: number, peer: string, peerMs: number, goal: number, extra = '') => {
  const ratio = oursMs / peerMs;
  console.log(`${what}: bindu-db ${oursMs.toFixed(0)} ms, ${peer} ${peerMs.toFixed(0)} ms, ratio ${ratio.toFixed(2)} (goal ≤ ${goal.toFixed(2)}) ${ratio <= goal ? 'ok' : 'OVER'}${extra}`);
};

try {
  console.log(`peers: knex ${versionOf('knex')}, dbmate ${versionOf('dbmate')}; medians of ${RUNS} interleaved runs`);

  // migrate status on an up-to-date database (each tool its own, migrated once)
  const upToDate = { ours: tools(freshDb()), knex: tools(freshDb()), dbmate: tools(freshDb()) };
  time(withArgs(upToDate.ours.ours, 'migrate', 'up'));
  time(withArgs(upToDate.knex.knex, 'migrate:latest'));
  time(withArgs(upToDate.dbmate.dbmate, 'up'));
  const status = await interleave({
    ours: () => time(withArgs(upToDate.ours.ours, 'migrate', 'status')),
    knex: () => time(withArgs(upToDate.knex.knex, 'migrate:status')),
    dbmate: () => time(withArgs(upToDate.dbmate.dbmate, 'status')),
  });
  row('migrate status, up to date', status.ours, 'knex migrate:status', status.knex, 0.8, `; dbmate status ${status.dbmate.toFixed(0)} ms (stretch: ≤ it)`);

  // migrate up: three migrations into a fresh database
  const fresh = await interleave({
    ours: () => time(withArgs(tools(freshDb()).ours, 'migrate', 'up')),
    knex: () => time(withArgs(tools(freshDb()).knex, 'migrate:latest')),
    dbmate: () => time(withArgs(tools(freshDb()).dbmate, 'up')),
    psql: () => time(tools(freshDb()).psql),
  });
  row('migrate up, 3 migrations, fresh db', fresh.ours, 'knex migrate:latest', fresh.knex, 0.9, `; dbmate up --no-dump-schema ${fresh.dbmate.toFixed(0)} ms (stretch: ≤ it); floor psql -1 -f ${fresh.psql.toFixed(0)} ms`);

  // six concurrent `migrate up` on one fresh database
  const oks = { ours: 0, knex: 0 };
  const six = await interleave({
    ours: async () => {
      const r = await sixAtOnce(withArgs(tools(freshDb()).ours, 'migrate', 'up'));
      oks.ours += r.ok;
      return r.ms;
    },
    knex: async () => {
      const r = await sixAtOnce(withArgs(tools(freshDb()).knex, 'migrate:latest'));
      oks.knex += r.ok;
      return r.ms;
    },
  });
  const runs6 = (RUNS + 1) * 6;
  row('six concurrent migrate up, wall time', six.ours, "knex's six", six.knex, 1.0, `; exit 0: bindu-db ${oks.ours}/${runs6}, knex ${oks.knex}/${runs6}`);

  // --help against node's own start
  const help = await interleave({ ours: () => time({ label: 'bindu-db', cmd: process.execPath, args: [bin, '--help'] }), node: () => time({ label: 'node', cmd: process.execPath, args: ['-e', '0'] }) });
  row('bindu-db --help', help.ours, 'node -e 0', help.node, 1.2);

  // The embedded database: wall time and peak RSS (GNU time), absolute goals; PGlite alone as the floor.
  const embedded = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-embedded-'));
  // Node reads NODE_EXTRA_CA_CERTS at every start (see the first line): the later commands are
  // also timed without it, the cost of node on this machine's setup set apart from ours.
  const { NODE_EXTRA_CA_CERTS: extraCa, ...withoutCa } = baseEnv as NodeJS.ProcessEnv;
  const measured = (args: string[], dataDir: string, env: NodeJS.ProcessEnv = baseEnv) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, ...args], { env: { ...env, DATABASE_URL: '', BINDU_DB_DATA_DIR: dataDir }, cwd: embedded, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    const [s, kb] = r.stderr.trim().split('\n').at(-1)!.split(' ').map(Number);
    return { ms: s * 1000, mib: kb / 1024 };
  };
  // The README's first command is migrate up; an inspection command starts the same way.
  const firsts: Record<string, { ms: number; mib: number }[]> = { 'migrate up': [], 'tasks list': [] };
  const laters: Record<string, { ms: number; mib: number }[]> = { 'migrate status': [], 'tasks list': [], 'PGlite alone, open + select 1': [] };
  const existing = path.join(embedded, 'existing');
  measured([bin, 'migrate', 'up'], existing);
  const floorScript = path.join(embedded, 'pgliteOpen.mjs');
  fs.writeFileSync(floorScript, `import { PGlite } from ${JSON.stringify(pathToFileURL(path.join(root, 'node_modules/@electric-sql/pglite/dist/index.js')).href)};\nconst pg = await PGlite.create(process.env.BINDU_DB_DATA_DIR);\nawait pg.query('select 1');\nawait pg.close();\n`);
  for (let i = 0; i < RUNS; i++) {
    firsts['migrate up'].push(measured([bin, 'migrate', 'up'], path.join(embedded, `fresh-up-${i}`)));
    firsts['tasks list'].push(measured([bin, 'tasks', 'list'], path.join(embedded, `fresh-list-${i}`)));
    laters['migrate status'].push(measured([bin, 'migrate', 'status'], existing));
    laters['tasks list'].push(measured([bin, 'tasks', 'list'], existing));
    laters['PGlite alone, open + select 1'].push(measured([floorScript], existing));
    if (extraCa) {
      (laters['migrate status, node without NODE_EXTRA_CA_CERTS'] ??= []).push(measured([bin, 'migrate', 'status'], existing, withoutCa));
      (laters['tasks list, node without NODE_EXTRA_CA_CERTS'] ??= []).push(measured([bin, 'tasks', 'list'], existing, withoutCa));
    }
  }
  // The goals are absolute (on an idle machine); the ratio to PGlite alone, measured in the same
  // rounds, is what stays comparable on a loaded one.
  const floorMs = median(laters['PGlite alone, open + select 1'].map((x) => x.ms));
  const show = (what: string, list: { ms: number; mib: number }[], goalMs?: number, goalMib?: number) => {
    const ms = median(list.map((x) => x.ms));
    const mib = Math.max(...list.map((x) => x.mib));
    const verdict = goalMs === undefined ? '(floor)' : ms <= goalMs && mib <= goalMib! ? 'ok' : 'OVER';
    console.log(`embedded ${what}: ${ms.toFixed(0)} ms (${(ms / floorMs).toFixed(2)}x PGlite alone), peak RSS ${mib.toFixed(0)} MiB${goalMs === undefined ? '' : ` (goal ≤ ${goalMs} ms, ≤ ${goalMib} MiB)`} ${verdict}`);
  };
  for (const [command, list] of Object.entries(firsts)) show(`first command (${command}) on a fresh data directory`, list, 1500, 400);
  show('later migrate status', laters['migrate status'], 600, 350);
  show('later tasks list', laters['tasks list'], 600, 350);
  if (extraCa) for (const what of ['migrate status', 'tasks list']) show(`later ${what}, node without NODE_EXTRA_CA_CERTS`, laters[`${what}, node without NODE_EXTRA_CA_CERTS`], 600, 350);
  show('PGlite alone, open an existing directory + select 1', laters['PGlite alone, open + select 1']);
  fs.rmSync(embedded, { recursive: true, force: true });
} finally {
  stopTestServer(server);
}
