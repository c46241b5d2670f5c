import { stopTestServer } from './pgServer.js';

export default async function globalTeardown() {
  if (globalThis.__PG_SERVER__) stopTestServer(globalThis.__PG_SERVER__);
}
