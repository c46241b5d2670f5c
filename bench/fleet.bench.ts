// --all-schemas on a fleet: 50 agent schemas as Bindu's server makes them (create_all), 20,000
// tasks each (2% failed). `tasks list --all-schemas --status failed --limit 50` against the same
// command on one schema, in one run: the whole command (node start included), and the query
// alone. The goal: the fleet's page well under a second.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { median, ratioLine } from './lib.js';
import { createAllSchemaDdl } from '../test/fixtures/serverLayout.js';
import { startTestServer, stopTestServer } from '../test/helpers/pgServer.js';
import { type Source, BINDU_SERVER_LAYOUT, sourceOf, taskPageAcrossStatement, taskPageStatement } from '../src/db/inspect/index.js';
import { positional } from '../src/db/sqlRunner.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'bin', 'bindu-db.js');
const SCHEMAS = Number(process.env.BENCH_SCHEMAS ?? 50);
const TASKS = Number(process.env.BENCH_SCHEMA_TASKS ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);

const server = await startTestServer();
process.on('SIGINT', () => {
  stopTestServer(server);
  process.exit(130);
});

try {
  const url = `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/fleet`;
  const admin = new pg.Client({ connectionString: url.replace(/\/fleet$/, '/postgres') });
  await admin.connect();
  await admin.query('create database fleet');
  await admin.end();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const names = Array.from({ length: SCHEMAS }, (_, i) => `did_bindu_fleet_at_example_com_agent_${String(i).padStart(2, '0')}`);
  const t0 = Date.now();
  for (const schema of names) {
    for (const sql of createAllSchemaDdl(schema, { ownerDid: true })) await client.query(sql);
    const contexts = TASKS / 10;
    // Context ids derived from their number, so that tasks can name theirs without a lookup.
    await client.query(`insert into "${schema}".contexts (id) select md5($1 || n)::uuid from generate_series(0, ${contexts - 1}) n`, [schema]);
    await client.query(
      `insert into "${schema}".tasks (id, context_id, owner_did, kind, state, state_timestamp, history, created_at)
       select gen_random_uuid(), md5($1 || (g % ${contexts}))::uuid, 'did:bindu:fleet', 'task', case when g % 50 = 0 then 'failed' else 'completed' end,
              now() - make_interval(secs => g * 7 + $2),
              jsonb_build_array(jsonb_build_object('role', 'user', 'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', 'question ' || g))),
                                jsonb_build_object('role', 'agent', 'parts', jsonb_build_array(jsonb_build_object('kind', 'text', 'text', 'answer ' || g)))),
              now() - make_interval(secs => g * 7 + $2)
         from generate_series(1, ${TASKS}) g`,
      [schema, names.indexOf(schema)],
    );
    await client.query(`analyze "${schema}".tasks`);
  }
  console.log(`${SCHEMAS} schemas x ${TASKS} tasks made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const env = { ...process.env, DATABASE_URL: url, NO_COLOR: '1' };
  const time = (args: string[]) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) throw new Error(`bindu-db ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, out: r.stdout };
  };
  const fleetArgs = ['tasks', 'list', '--all-schemas', '--status', 'failed', '--limit', '50', '--json'];
  const oneArgs = ['--schema', names[0], 'tasks', 'list', '--status', 'failed', '--limit', '50', '--json'];
  const items = (JSON.parse(time(fleetArgs).out) as { items: Array<{ schema: string }> }).items;
  time(oneArgs);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(time(fleetArgs).ms);
    b.push(time(oneArgs).ms);
  }
  console.log(`  the page holds ${items.length} tasks from ${new Set(items.map((x) => x.schema)).size} schemas`);
  console.log(ratioLine(`tasks list --all-schemas --status failed --limit 50 (${SCHEMAS} schemas) vs the same on one schema, whole command`, median(a), median(b), 3));
  console.log(`  --all-schemas whole command: ${median(a).toFixed(1)} ms (goal < 1000 ms) ${median(a) < 1000 ? 'ok' : 'OVER'}`);

  // The query alone, on one connection: the fleet's UNION ALL vs one schema's statement.
  const sources: Source[] = names.map((s) => sourceOf({ query: async () => [], transaction: async () => { throw new Error('unused'); } }, s, BINDU_SERVER_LAYOUT));
  const filter = { statuses: ['failed' as const] };
  const across = taskPageAcrossStatement(sources, sources.map(() => filter), { limit: 50 });
  const one = taskPageStatement(sources[0], filter, { limit: 50 });
  const q = async (st: { sql: string; bindings: unknown[] }) => {
    const t = process.hrtime.bigint();
    await client.query(positional(st.sql), st.bindings);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  await q(across);
  await q(one);
  const qa: number[] = [];
  const qb: number[] = [];
  for (let i = 0; i < RUNS * 3; i++) {
    qa.push(await q(across));
    qb.push(await q(one));
  }
  console.log(ratioLine(`  query only: UNION ALL over ${SCHEMAS} schemas vs one schema's`, median(qa), median(qb), SCHEMAS));
  await client.end();
} finally {
  stopTestServer(server);
}
