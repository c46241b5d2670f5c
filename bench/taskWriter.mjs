// A stand-in for Bindu's server during the prune benchmark: at a steady rate it inserts a task
// (working) and finishes an earlier one (completed, one agent message appended), as the server
// does for each request, and records how long each statement took, by phase. The parent names
// the phase ({ phase }) and asks for the report ({ report: true }) over IPC.
import pg from 'pg';

const RATE = Number(process.env.WRITER_RATE ?? 200); // statements per second
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const [{ ids }] = (await client.query(`select array_agg(context_id) as ids from (select context_id from contexts order by created_at desc limit 1000) c`)).rows;
let phase = 'warmup';
const samples = new Map();
const open = [];
let stop = false;

process.on('message', (m) => {
  if (m.phase) phase = m.phase;
  if (m.report) {
    stop = true;
    const report = {};
    for (const [name, values] of samples) {
      values.sort((a, b) => a - b);
      const q = (p) => values[Math.min(values.length - 1, Math.floor(p * values.length))];
      report[name] = { n: values.length, p50: q(0.5), p99: q(0.99), max: values.at(-1) };
    }
    process.send({ report }, () => client.end().then(() => process.exit(0)));
  }
});

const timed = async (sql, params) => {
  const t = process.hrtime.bigint();
  const r = await client.query(sql, params);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (!samples.has(phase)) samples.set(phase, []);
  samples.get(phase).push(ms);
  return r;
};

const msg = (role, text) => JSON.stringify([{ kind: 'message', role, parts: [{ kind: 'text', text }], message_id: crypto.randomUUID() }]);
let n = 0;
const started = Date.now();
while (!stop) {
  if (n % 2 === 0 || open.length === 0) {
    const ctx = ids[n % ids.length];
    const r = await timed(`insert into tasks (context_id, status, history) values ($1, 'running', $2::jsonb) returning task_id`, [ctx, msg('user', `request ${n}`)]);
    open.push(r.rows[0].task_id);
  } else {
    await timed(`update tasks set status = 'completed', history = history || $2::jsonb where task_id = $1`, [open.shift(), msg('agent', `answer ${n}`)]);
  }
  n++;
  const wait = started + (n * 1000) / RATE - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
