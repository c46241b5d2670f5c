import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { repoRoot } from '../helpers/cli.js';

// jest runs no global teardown when the global setup fails: a setup that started the cluster and
// then failed (PgBouncer missing, say) left the cluster running and its directory behind.

const runningWith = (dir: string) =>
  fs.readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).some((pid) => {
    try {
      return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
    } catch {
      return false; // it ended while we looked
    }
  });

test('a global setup that fails stops what it started and removes its directory', () => {
  const script = `import setup from ${JSON.stringify(path.join(repoRoot, 'test/helpers/globalSetup.js'))};
import teardown from ${JSON.stringify(path.join(repoRoot, 'test/helpers/globalTeardown.js'))};
let error = null;
try { await setup(); } catch (err) { error = err.message; }
process.stdout.write(JSON.stringify({ error, root: globalThis.__TEST_TMP_ROOT__, cluster: globalThis.__PG_SERVER__?.dir }));
if (!error) await teardown();`;
  const { TEST_DATABASE_URL: _, TEST_POOLER_URL: __, ...env } = process.env;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...env, PGBOUNCER: '/nonexistent/pgbouncer' }, encoding: 'utf8' });
  const { error, root, cluster } = JSON.parse(r.stdout) as { error: string | null; root: string; cluster?: string };
  try {
    expect(error).toMatch(/pgbouncer not found/);
    expect(cluster).toBeDefined(); // it had started the cluster
    expect(runningWith(cluster!)).toBe(false);
    expect(fs.existsSync(root)).toBe(false);
  } finally {
    if (cluster && runningWith(cluster)) spawnSync(path.join(process.env.TEST_PG_BINDIR!, 'pg_ctl'), ['-D', path.join(cluster, 'data'), '-m', 'immediate', 'stop']);
  }
});
