import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startPooler } from './pgBouncer.js';
import { startTestServer } from './pgServer.js';
import globalTeardown from './globalTeardown.js';

// Starts one PostgreSQL cluster for the whole run (unless TEST_DATABASE_URL names a server);
// test files each create their own database in it (see db.ts), so they can run in parallel.
// Plain JS: jest loads global setup outside its transform.
export default async function globalSetup() {
  // Every temporary directory of the run (the tests', the CLI's, the cluster's) goes under one
  // that the teardown removes: TMPDIR is what os.tmpdir() reads, in the workers and in children.
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-db-tests-'));
  fs.chmodSync(root, 0o755); // the cluster's directory inside is the postgres user's
  globalThis.__TEST_TMP_ROOT__ = root;
  // Interrupted (Ctrl-C on npm test), jest exits without its global teardown: the cluster,
  // PgBouncer and this directory would outlive the run. The teardown does its work at once.
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    process.once(signal, () => {
      void globalTeardown();
      process.exit(code);
    });
  }
  process.env.TMPDIR = root;
  // jest runs no teardown when this fails: what it started so far is stopped here.
  try {
    await startServers(root);
  } catch (err) {
    await globalTeardown();
    throw err;
  }
}

async function startServers(root) {
  if (!process.env.TEST_DATABASE_URL) {
    const server = await startTestServer();
    globalThis.__PG_SERVER__ = server;
    // The password has URL-special characters on purpose: percent-encode it fully.
    process.env.TEST_DATABASE_URL = `postgresql://${server.user}:${encodeURIComponent(server.password)}@127.0.0.1:${server.port}/postgres`;
    process.env.TEST_PG_BINDIR = server.bindir;
    process.env.TEST_PG_SSL_ROOT_CERT = server.sslRootCert;
  }
  // PgBouncer in transaction mode in front of that server (test/helpers/pooler.ts builds URLs on it).
  if (!process.env.TEST_POOLER_URL) {
    const url = new URL(process.env.TEST_DATABASE_URL);
    const pooler = await startPooler({ port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }, root);
    globalThis.__PG_POOLER__ = pooler;
    url.port = String(pooler.port);
    process.env.TEST_POOLER_URL = url.toString();
  }
}
