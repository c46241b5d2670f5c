// bindu-db studio on one million tasks: the server time of the first page of tasks (all, and
// failed only) and of a task whose history is 5 MB, each against the same tasks-list query run
// bare (node + pg, no HTTP, no HTML) in the same run. Server time is the studio's own
// Server-Timing header: from the request's arrival to the page being ready to send.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { median, ratioLine } from './lib.js';
import { BINDU_DB_LAYOUT, type TaskFilter, sourceOf, taskPageStatement } from '../src/db/inspect/index.js';
import { positional } from '../src/db/sqlRunner.js';
import { startTestServer, stopTestServer } from '../test/helpers/pgServer.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'bindu-db.js');
const TASKS = Number(process.env.BENCH_TASKS ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const BIG = '5e000000-0000-4000-8000-0000000000b1';

const server = await startTestServer();
let studio: ChildProcess | undefined;
const stop = () => {
  studio?.kill('SIGKILL');
  stopTestServer(server);
};
process.on('SIGINT', () => {
  stop();
  process.exit(130);
});

/** One GET; resolves with the studio's server time (ms) and the wall time seen by the client. */
function get(url: string): Promise<{ server: number; wall: number; status: number; bytes: number }> {
  const t = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let bytes = 0;
        res.on('data', (d: Buffer) => (bytes += d.length));
        res.on('end', () => {
          const dur = /app;dur=([\d.]+)/.exec(String(res.headers['server-timing'] ?? ''));
          resolve({ server: dur ? Number(dur[1]) : NaN, wall: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode ?? 0, bytes });
        });
      })
      .on('error', reject);
  });
}

try {
  const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/bench`;
  const env = { ...process.env, DATABASE_URL: url, NO_COLOR: '1' };
  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`bindu-db ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  };
  spawnSync(path.join(server.bindir, 'psql'), ['-d', `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/postgres`, '-qc', 'create database bench'], { stdio: 'inherit' });
  run(['migrate', 'up']);
  const t0 = Date.now();
  run(['seed', 'generate', '--tasks', String(TASKS)]);
  console.log(`seed generate --tasks ${TASKS}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const client = new pg.Client({ connectionString: url });
  await client.connect();

  studio = spawn(process.execPath, [bin, 'studio'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const start = await new Promise<string>((resolve, reject) => {
    let out = '';
    studio!.stdout!.on('data', (d) => {
      out += d;
      const m = /^http:\S+$/m.exec(out);
      if (m) resolve(m[0]);
    });
    studio!.on('exit', (code) => reject(new Error(`studio exited ${code}`)));
  });
  const page = (p: string, query = '') => start.replace('/?', `${p}?${query ? `${query}&` : ''}`);

  /** Medians of interleaved runs: the studio's server time and wall time, and the bare query. */
  const compare = async (name: string, pageUrl: string, bare: () => Promise<unknown>, goalMs: number, goalRatio: number) => {
    await get(pageUrl);
    await bare();
    const s: number[] = [];
    const w: number[] = [];
    const b: number[] = [];
    let bytes = 0;
    for (let i = 0; i < RUNS; i++) {
      const r = await get(pageUrl);
      if (r.status !== 200) throw new Error(`${pageUrl}: HTTP ${r.status}`);
      s.push(r.server);
      w.push(r.wall);
      bytes = r.bytes;
      const t = process.hrtime.bigint();
      await bare();
      b.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const server = median(s);
    console.log(`${name}: server time ${server.toFixed(1)} ms (goal < ${goalMs} ms) ${server < goalMs ? 'ok' : 'OVER'}; wall ${median(w).toFixed(1)} ms; page ${(bytes / 1024).toFixed(0)} KiB`);
    console.log(`  ${ratioLine('studio server time vs the same query bare (node+pg)', server, median(b), goalRatio)}`);
  };

  const source = sourceOf({ query: async () => [], transaction: async () => { throw new Error('unused'); } }, 'public', BINDU_DB_LAYOUT);
  const bareList = (filter: TaskFilter) => {
    const st = taskPageStatement(source, filter, { limit: 20 });
    return () => client.query(positional(st.sql), st.bindings);
  };
  await compare('first page of tasks', page('/agents/public/tasks'), bareList({}), 100, 3);
  await compare('first page of failed tasks', page('/agents/public/tasks', 'status=failed'), bareList({ statuses: ['failed'] }), 100, 3);
  // A task whose history is 5 MB (one long model output and a big data part), now the newest:
  // the first page counts its messages too, which reads its whole history on the server.
  const history = [
    { role: 'user', kind: 'message', parts: [{ kind: 'text', text: 'write a lot' }] },
    { role: 'agent', kind: 'message', parts: [{ kind: 'text', text: 'lorem ipsum '.repeat(350_000) }, { kind: 'data', data: { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, v: 'value' })) } }] },
  ];
  await client.query('insert into public.tasks (task_id, context_id, status, history) select $1, context_id, $2, $3 from public.contexts limit 1', [BIG, 'completed', JSON.stringify(history)]);
  await compare('first page of tasks, the newest with a 5 MB history', page('/agents/public/tasks'), bareList({}), 100, 3);
  const bareTask = () => client.query('select * from public.tasks where task_id = $1', [BIG]);
  await compare('a task with a 5 MB history', page(`/agents/public/tasks/${BIG}`), bareTask, 500, 5);
  await client.end();
} finally {
  stop();
}
