// bindu-db backup/restore against bare pg_dump / psql / pg_restore on the same database, same
// format, in the same run: a throwaway PostgreSQL with 100,000 tasks of realistic history, then
// 1,000,000 (where node's start-up no longer dominates). Runs are interleaved (floor, ours, floor,
// ours…) so machine noise hits both; medians compared. The floor dumps the same thing ours does:
// the whole database (what `bindu-db backup` does without --schema).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startTestServer, stopTestServer } from '../test/helpers/pgServer.js';
import { cliEntry as bin, median, ratioLine } from './lib.js';

// "tasks:runs,…": each size gets its own database; the large one fewer runs (each takes a minute).
const SIZES = (process.env.BENCH_BACKUP_SIZES ?? '100000:7,1000000:3').split(',').map((s) => s.split(':').map(Number) as [number, number]);
const GOAL = 1.1;

const server = await startTestServer();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-bench-backup-'));
const url = (db: string) => `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/${db}`;
const libpq = (db: string) => ({ ...process.env, PGHOST: '127.0.0.1', PGPORT: String(server.port), PGUSER: server.user, PGPASSWORD: server.password, PGDATABASE: db });
const tool = (name: string) => path.join(server.bindir, name);

function time(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: [input ? fs.openSync(input, 'r') : 'ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t) / 1e6;
}
/**
 * A backup is on disk once it is synced. pg_dump syncs a custom archive before it exits, but not a
 * plain file: the floor of a plain backup is pg_dump then an fsync of its file, the work ours does.
 */
function fsyncMs(file: string): number {
  const t = process.hrtime.bigint();
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return Number(process.hrtime.bigint() - t) / 1e6;
}
// The same tools as the floor: on Debian the pg_dump on PATH is a Perl wrapper (pg_wrapper) that
// picks a version and then runs this binary, some 50 ms per start that the floor would not pay.
const ours = (db: string, args: string[], env: NodeJS.ProcessEnv = process.env) => time(process.execPath, [bin, ...args], { ...env, DATABASE_URL: url(db), BINDU_DB_PG_BIN: server.bindir, NO_COLOR: '1' });
// Node reads NODE_EXTRA_CA_CERTS at every start (about 35 ms on this machine, see bench/run.ts), a
// cost of the machine's setup that pg_dump never pays: when it is set, backups are also timed without it.
const { NODE_EXTRA_CA_CERTS: extraCa, ...withoutExtraCa } = process.env;

async function sql(db: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url(db) });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

let dbCount = 0;
async function freshDb(): Promise<string> {
  const name = `bench_${dbCount++}`;
  await sql('postgres', `create database ${name}`);
  return name;
}

try {
  for (const [TASKS, RUNS] of SIZES) {
    const src = await freshDb();
    ours(src, ['migrate', 'up']);
    // 20,000 contexts, 5 tasks each with a 6-message history, feedback on a third, webhooks on some.
    await sql(src, `
      insert into contexts (context_id, messages, metadata, created_at)
        select md5('c' || i)::uuid, '[]', jsonb_build_object('title', 'conversation ' || i, 'agent', 'research_agent'), now() - (i || ' minutes')::interval
        from generate_series(1, ${TASKS / 5}) i;
      insert into tasks (task_id, context_id, status, history, artifacts, created_at)
        select md5('t' || i)::uuid, md5('c' || (i % ${TASKS / 5} + 1))::uuid,
          (array['pending','running','completed','failed','input_required'])[i % 5 + 1]::task_status,
          (select jsonb_agg(jsonb_build_object('message_id', md5(i || '-' || m), 'kind', 'message', 'role', case when m % 2 = 0 then 'user' else 'agent' end,
              'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', 'Message ' || m || ' of task ' || i || E': "quoted", a newline\\nand ✓ unicode — ' || repeat('lorem ipsum ', 8))),
              'metadata', jsonb_build_object('timestamp', now()))) from generate_series(1, 6) m),
          case when i % 5 = 2 then jsonb_build_object('artifacts', jsonb_build_array(jsonb_build_object('name', 'answer', 'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', 'answer ' || i))))) else '{}' end,
          now() - (i || ' seconds')::interval
        from generate_series(1, ${TASKS}) i;
      insert into task_feedback (task_id, feedback, rating, created_at)
        select md5('t' || i)::uuid, 'feedback on ' || i, i % 5 + 1, now() from generate_series(1, ${TASKS}, 3) i;
      insert into webhook_configs (task_id, config)
        select md5('t' || i)::uuid, jsonb_build_object('url', 'https://hooks.example.com/' || i, 'token', md5(i::text)) from generate_series(1, ${TASKS}, 50) i;
      analyze;`);
    const size = spawnSync(tool('psql'), ['-Atc', `select pg_size_pretty(pg_database_size('${src}'))`], { env: libpq(src), encoding: 'utf8' }).stdout.trim();
    console.log(`database: ${TASKS} tasks, ${size}; ${RUNS} runs each, interleaved, medians`);

    for (const format of ['plain', 'custom'] as const) {
      const ext = format === 'plain' ? 'sql' : 'dump';
      const floorFile = path.join(dir, `floor.${ext}`);
      const ourFile = path.join(dir, `ours.${ext}`);
      const floor: number[] = [];
      const mine: number[] = [];
      const mineWithoutCa: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        // Each starts with no file: replacing a 239 MB file (--force) frees its blocks, ~70 ms of work the floor never does.
        fs.rmSync(floorFile, { force: true });
        fs.rmSync(ourFile, { force: true });
        floor.push(time(tool('pg_dump'), ['--no-owner', '--no-privileges', `--format=${format[0]}`, `--file=${floorFile}`], libpq(src)) + (format === 'plain' ? fsyncMs(floorFile) : 0));
        mine.push(ours(src, ['backup', ourFile]));
        if (extraCa) {
          fs.rmSync(ourFile, { force: true });
          mineWithoutCa.push(ours(src, ['backup', ourFile], withoutExtraCa));
        }
      }
      console.log(ratioLine(`backup ${format} (${(fs.statSync(ourFile).size / 1e6).toFixed(0)} MB) vs pg_dump${format === 'plain' ? ' and an fsync of its file' : ''}`, median(mine), median(floor), GOAL));
      // The spread, not only the medians: bindu-db's runs vary more than pg_dump's (its flushes to disk).
      console.log(`  runs (ms): ours ${mine.map(Math.round).join(' ')}; floor ${floor.map(Math.round).join(' ')}`);
      if (extraCa) console.log(ratioLine(`  the same, node without NODE_EXTRA_CA_CERTS`, median(mineWithoutCa), median(floor), GOAL));

      const rFloor: number[] = [];
      const rMine: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const a = await freshDb();
        // Each restore starts with no dirty buffers: otherwise the second of a pair pays for writing out the first's.
        await sql('postgres', 'checkpoint');
        rFloor.push(
          format === 'plain'
            ? time(tool('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction', '-f', floorFile], libpq(a))
            : time(tool('pg_restore'), ['--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges', '-d', a, floorFile], libpq(a)),
        );
        const b = await freshDb();
        await sql('postgres', 'checkpoint');
        rMine.push(ours(b, ['restore', ourFile, '--yes']));
        await sql('postgres', `drop database ${a}`);
        await sql('postgres', `drop database ${b}`);
      }
      console.log(ratioLine(`restore ${format} vs ${format === 'plain' ? 'psql --single-transaction' : 'pg_restore --single-transaction'}`, median(rMine), median(rFloor), GOAL));
      console.log(`  runs (ms): ours ${rMine.map(Math.round).join(' ')}; floor ${rFloor.map(Math.round).join(' ')}`);
      fs.rmSync(floorFile, { force: true });
      fs.rmSync(ourFile, { force: true });
    }
    await sql('postgres', `drop database ${src}`);
  }
} finally {
  stopTestServer(server);
  fs.rmSync(dir, { recursive: true, force: true });
}
