import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from './pgServer.js';

// Debian's PgBouncer in transaction mode in front of the test server, as managed hosts (Neon's
// pooled endpoint) run it: the suite's pooled tests talk to a real one. Plain JS, like pgServer.js.

// Debian's, unless PGBOUNCER names another.
const BINARY = process.env.PGBOUNCER || '/usr/sbin/pgbouncer';
const asRoot = process.getuid?.() === 0;

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** userlist.txt quoting: the value in double quotes, a double quote doubled. */
const quoted = (s) => `"${s.replace(/"/g, '""')}"`;

/** Starts PgBouncer (as the postgres user when we are root) in front of `server`; resolves once it listens. */
export async function startPooler(server, parentDir) {
  if (!fs.existsSync(BINARY)) throw new Error('pgbouncer not found: run test/helpers/ensure-postgres.sh (npm test does)');
  const dir = fs.mkdtempSync(path.join(parentDir, 'pgbouncer-'));
  const port = await freePort();
  const ini = path.join(dir, 'pgbouncer.ini');
  fs.writeFileSync(path.join(dir, 'userlist.txt'), `${quoted(server.user)} ${quoted(server.password)}\n`);
  fs.writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${server.port}`,
      '[pgbouncer]',
      'pool_mode = transaction',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      `admin_users = ${server.user}`,
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
      'max_client_conn = 400',
      'default_pool_size = 20',
      'server_tls_sslmode = disable',
      '',
    ].join('\n'),
  );
  if (asRoot) execFileSync('chown', ['-R', 'postgres:', dir]);
  const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', BINARY, '-d', ini]] : [BINARY, ['-d', ini]];
  const started = spawnSync(cmd, argv, { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`pgbouncer failed to start: ${started.stderr || started.stdout}`);
  for (let i = 0; !(await accepts(port)); i++) {
    if (i > 200) throw new Error(`pgbouncer does not listen on ${port}: ${fs.readFileSync(path.join(dir, 'pgbouncer.log'), 'utf8').slice(-500)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return { dir, port, pid: Number(fs.readFileSync(path.join(dir, 'pgbouncer.pid'), 'utf8')) };
}

export function stopPooler(pooler) {
  try {
    process.kill(pooler.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
