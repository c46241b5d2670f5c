// tasks prune under load: 1,000,000 of 2,000,000 tasks deleted (with their feedback and webhook
// configs) while a second process keeps inserting and finishing tasks at a steady rate, as a
// live server does. Prints tasks deleted per second and the writer's p99 statement latency
// during the prune against its p99 with no prune running, measured in the same run; and, as the
// floor, the same deletion as one DELETE statement (no batches, no row locks, one transaction
// holding every row until the end) on a copy of the database, with the same writer running.
import { fork, spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startBenchServer } from './lib.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'bindu-db.js');
const TASKS = Number(process.env.BENCH_TASKS ?? 2_000_000);
const PRUNE = Number(process.env.BENCH_PRUNE ?? TASKS / 2);
const BATCH = process.env.BENCH_BATCH; // default: the CLI's
const UNLOADED_MS = Number(process.env.BENCH_UNLOADED_MS ?? 20_000);

const { server, stop } = await startBenchServer();

try {
  const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/bench`;
  const env = { ...process.env, DATABASE_URL: url, NO_COLOR: '1' };
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`bindu-db ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const admin = new pg.Client({ connectionString: url.replace(/\/bench$/, '/postgres') });
  await admin.connect();
  await admin.query('create database bench');
  await admin.end();
  cli(['migrate', 'up']);
  let t0 = Date.now();
  cli(['seed', 'generate', '--tasks', String(TASKS)]);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  // Webhook configs for 1% of the tasks, so the cascade has all three tables to delete from.
  await db.query(`insert into webhook_configs (task_id, config) select task_id, jsonb_build_object('url', 'https://hooks.example.com/' || task_id, 'token', md5(task_id::text)) from tasks where random() < 0.01`);
  await db.query('vacuum analyze');
  console.log(`seed generate --tasks ${TASKS} + webhooks: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  // The cutoff that leaves exactly PRUNE finished tasks before it (ties aside).
  const { rows } = await db.query(
    `select to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cutoff from tasks where status in ('completed', 'failed') order by updated_at offset $1 limit 1`,
    [PRUNE],
  );
  const cutoff = rows[0].cutoff as string;
  await db.end();
  const admin2 = new pg.Client({ connectionString: url.replace(/\/bench$/, '/postgres') });
  await admin2.connect();
  await admin2.query('create database bench_floor template bench');
  await admin2.end();

  const writer = fork(path.join(root, 'bench', 'taskWriter.mjs'), { env });
  const ask = <T>(m: object) => new Promise<T>((resolve) => {
    writer.once('message', resolve as (v: unknown) => void);
    writer.send(m);
  });
  const after = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await after(3000); // warm-up: connections, caches
  // Unloaded is measured before the prune and again before the floor (the machine's own load drifts).
  writer.send({ phase: 'unloaded' });
  await after(UNLOADED_MS / 2);
  writer.send({ phase: 'prune' });
  t0 = Date.now();
  const result = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [bin, 'tasks', 'prune', '--older-than', cutoff, '--yes', '--json', ...(BATCH ? ['--batch-size', BATCH] : [])], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
  const seconds = (Date.now() - t0) / 1000;
  writer.send({ phase: 'unloaded' });
  await after(UNLOADED_MS / 2);
  writer.send({ phase: 'floor' });
  const floor = new pg.Client({ connectionString: url.replace(/\/bench$/, '/bench_floor') });
  await floor.connect();
  t0 = Date.now();
  const floorDeleted = (await floor.query(`delete from tasks where status in ('completed', 'failed') and updated_at < $1`, [cutoff])).rowCount ?? 0;
  const floorSeconds = (Date.now() - t0) / 1000;
  await floor.end();
  writer.send({ phase: 'after' });
  await after(1000);
  const { report } = await ask<{ report: Record<string, { n: number; p50: number; p99: number; max: number }> }>({ report: true });
  if (result.code !== 0) throw new Error(`tasks prune exited ${result.code}: ${result.err}`);
  const doc = JSON.parse(result.out) as { deleted: { tasks: number; task_feedback: number; webhook_configs: number }; batches: number };
  const rate = doc.deleted.tasks / seconds;
  console.log(`tasks prune: ${doc.deleted.tasks} tasks, ${doc.deleted.task_feedback} feedback, ${doc.deleted.webhook_configs} webhook configs in ${doc.batches} batches, ${seconds.toFixed(1)} s (count + confirm + batches, node start included)`);
  console.log(`  deleted: ${Math.round(rate)} tasks/s (goal ≥ 20000) ${rate >= 20_000 ? 'ok' : 'UNDER'}`);
  const floorRate = floorDeleted / floorSeconds;
  console.log(`  floor, one DELETE statement: ${floorDeleted} tasks in ${floorSeconds.toFixed(1)} s, ${Math.round(floorRate)} tasks/s; ours / floor: ${(rate / floorRate).toFixed(2)}`);
  const [u, p, fl] = [report.unloaded, report.prune, report.floor];
  const line = (name: string, r: { n: number; p50: number; p99: number; max: number }) => `${name}: ${r.n} statements, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms`;
  console.log(`  writer ${line('unloaded', u)}`);
  console.log(`  writer ${line('during prune', p)}`);
  console.log(`  writer ${line('during the floor DELETE', fl)}`);
  const ratio = p.p99 / u.p99;
  console.log(`  writer p99 during prune / unloaded: ${ratio.toFixed(2)} (goal ≤ 2.00) ${ratio <= 2 ? 'ok' : 'OVER'}`);
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const left = await check.query(`select count(*)::int as n from tasks where status in ('completed', 'failed') and updated_at < $1`, [cutoff]);
  console.log(`  finished tasks before the cutoff left: ${left.rows[0].n}`);
  await check.end();
} finally {
  stop();
}
