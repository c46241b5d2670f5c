/**
 * The same database as `url`, through the suite's PgBouncer in transaction mode (started by
 * globalSetup in front of the test server).
 */
export function pooledUrl(url: string): string {
  const pooler = process.env.TEST_POOLER_URL;
  if (!pooler) throw new Error('TEST_POOLER_URL is not set: run the tests with `npm test`');
  const u = new URL(url);
  const p = new URL(pooler);
  u.hostname = p.hostname;
  u.port = p.port;
  return u.toString();
}
