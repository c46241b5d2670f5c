import fs from 'node:fs';
import { stopPooler } from './pgBouncer.js';
import { stopTestServer } from './pgServer.js';

export default async function globalTeardown() {
  try {
    if (globalThis.__PG_POOLER__) stopPooler(globalThis.__PG_POOLER__);
    if (globalThis.__PG_SERVER__) stopTestServer(globalThis.__PG_SERVER__);
  } finally {
    if (globalThis.__TEST_TMP_ROOT__) fs.rmSync(globalThis.__TEST_TMP_ROOT__, { recursive: true, force: true });
  }
}
