// Inspection on one million tasks (1% failed) against the floor for the same work, in one run:
// list pages vs a bare node + pg script, stats vs psql running the same aggregates, and
// tasks export vs psql \copy of row_to_json (throughput, and our peak RSS).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { median, ratioLine, startBenchServer } from './lib.js';
import { BINDU_DB_LAYOUT, sourceOf, statsStatements } from '../src/db/inspect/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'bindu-db.js');
const floorScript = path.join(root, 'bench', 'floors', 'pgQuery.mjs');
const TASKS = Number(process.env.BENCH_TASKS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const { server, stop } = await startBenchServer();

try {
  const env = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(server.port),
    PGUSER: server.user,
    PGPASSWORD: server.password,
    PGDATABASE: 'bench',
    DATABASE_URL: `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/bench`,
    NO_COLOR: '1',
  };
  const psql = path.join(server.bindir, 'psql');
  const run = (cmd: string, args: string[], out: 'ignore' | 'pipe' = 'ignore') => {
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', out, 'pipe'], maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 3).join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout ?? '';
  };
  const time = (cmd: string, args: string[]) => {
    const t = process.hrtime.bigint();
    run(cmd, args);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  /** Medians of interleaved runs, so noise hits both sides alike. */
  const compare = (ours: [string, string[]], floor: [string, string[]], runs = RUNS) => {
    time(...ours); // warm the cache for both
    time(...floor);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < runs; i++) {
      a.push(time(...ours));
      b.push(time(...floor));
    }
    return [median(a), median(b)] as const;
  };

  run(psql, ['-d', 'postgres', '-qc', 'create database bench']);
  run(process.execPath, [bin, 'migrate', 'up']);
  const t0 = Date.now();
  run(process.execPath, [bin, 'seed', 'generate', '--tasks', String(TASKS)]);
  console.log(`seed generate --tasks ${TASKS}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Lists: the floor runs a hand-written equivalent query (same page, same derived columns).
  const reason = `(select string_agg(p.value->>'text', ' ') from jsonb_array_elements(
      (select m.value from jsonb_array_elements(history) with ordinality m(value, n) where m.value->>'role' = 'agent' order by m.n desc limit 1)->'parts') p
      where p.value->>'kind' = 'text')`;
  const failedSql = (keyset: boolean) => `select task_id, context_id, status, created_at, updated_at, jsonb_array_length(history) as message_count, ${reason} as failure_reason
      from tasks where status = 'failed' ${keyset ? 'and (created_at, task_id) < ($1::timestamptz, $2::uuid)' : ''} order by created_at desc, task_id desc limit 50`;
  let [ours, floor] = compare([process.execPath, [bin, 'tasks', 'list', '--status', 'failed', '--limit', '50', '--json']], [process.execPath, [floorScript, failedSql(false)]]);
  console.log(ratioLine('tasks list --status failed --limit 50 --json vs node+pg', ours, floor, 1.5));

  const deep = JSON.parse(run(process.execPath, [bin, 'tasks', 'list', '--status', 'failed', '--limit', '5000', '--json'], 'pipe')) as { items: Array<{ task_id: string }>; next: string };
  const key = JSON.parse(Buffer.from(deep.next, 'base64url').toString()) as { t: string; i: string };
  [ours, floor] = compare(
    [process.execPath, [bin, 'tasks', 'list', '--status', 'failed', '--limit', '50', '--after', deep.next, '--json']],
    [process.execPath, [floorScript, failedSql(true), JSON.stringify([key.t, key.i])]],
  );
  console.log(ratioLine('tasks list --status failed --after <row 5000> --json vs node+pg', ours, floor, 1.5));

  // stats: psql runs exactly our aggregate statements, values inlined.
  const render = knexFactory({ client: 'pg' });
  const statsSql = Object.values(statsStatements(sourceOf({ query: async () => [], transaction: async () => { throw new Error('unused'); } }, 'public', BINDU_DB_LAYOUT)))
    .map((st) => `${render.raw(st.sql, st.bindings as never[]).toQuery()};`)
    .join('\n');
  const statsFile = path.join(server.dir, 'stats.sql');
  fs.writeFileSync(statsFile, statsSql);
  [ours, floor] = compare([process.execPath, [bin, 'stats', '--json']], [psql, ['-X', '-q', '-f', statsFile]], 5);
  console.log(ratioLine('stats --json vs psql (same aggregates)', ours, floor, 2));
  await render.destroy();

  // export: throughput against psql \copy, and our peak RSS (GNU time, else our own child's rusage).
  const outFile = path.join(server.dir, 'export.jsonl');
  const sh = (cmd: string) => time('/bin/sh', ['-c', cmd]);
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const gnuTime = fs.existsSync('/usr/bin/time');
  const rssFile = path.join(server.dir, 'rss');
  const oursExport = sh(`${gnuTime ? `/usr/bin/time -f %M -o ${q(rssFile)} ` : ''}${q(process.execPath)} ${q(bin)} tasks export > ${q(outFile)}`);
  const oursBytes = fs.statSync(outFile).size;
  const lines = Number(spawnSync('wc', ['-l', outFile], { encoding: 'utf8' }).stdout.trim().split(/\s+/)[0]);
  const floorExport = sh(`${q(psql)} -X -q -c ${q('\\copy (select row_to_json(t) from tasks t) to stdout')} > ${q(outFile)}`);
  const floorBytes = fs.statSync(outFile).size;
  fs.rmSync(outFile, { force: true });
  const oursRate = oursBytes / 1e6 / (oursExport / 1000);
  const floorRate = floorBytes / 1e6 / (floorExport / 1000);
  const ratio = oursRate / floorRate;
  console.log(
    `tasks export (${lines} rows) vs psql \\copy row_to_json: ours ${oursRate.toFixed(1)} MB/s (${(oursExport / 1000).toFixed(1)} s), floor ${floorRate.toFixed(1)} MB/s (${(floorExport / 1000).toFixed(1)} s), ratio ${ratio.toFixed(2)} (goal ≥ 0.50) ${ratio >= 0.5 && lines === TASKS ? 'ok' : 'UNDER'}`,
  );
  if (gnuTime) {
    const rssMb = Number(fs.readFileSync(rssFile, 'utf8').trim()) / 1024;
    console.log(`tasks export peak RSS: ${rssMb.toFixed(0)} MB (goal < 200 MB) ${rssMb < 200 ? 'ok' : 'OVER'}`);
  }
} finally {
  stop();
}
