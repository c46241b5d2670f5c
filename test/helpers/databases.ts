import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.js';
import { type Database, openDatabase } from '../../src/db/connect.js';
import { createTestDatabase, dropTestDatabase } from './db.js';

/** The two kinds of database every behavioural test runs on. */
export type Kind = 'postgres' | 'embedded';
export const kinds: Kind[] = ['postgres', 'embedded'];

/** Opens a fresh database of the kind; `dispose` closes and removes it. */
export async function freshDatabase(kind: Kind, schema = 'public'): Promise<{ db: Database; dispose(): Promise<void>; env: Record<string, string> }> {
  if (kind === 'postgres') {
    const { name, url } = await createTestDatabase('core');
    const db = await openDatabase(loadConfig({ url, schema }, {}));
    return { db, env: { DATABASE_URL: url }, dispose: async () => (await db.close(), await dropTestDatabase(name)) };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-embedded-'));
  const dataDir = path.join(dir, 'db');
  const db = await openDatabase(loadConfig({ dataDir, schema }, {}));
  return { db, env: { BINDU_DB_DATA_DIR: dataDir }, dispose: async () => (await db.close(), fs.rmSync(dir, { recursive: true, force: true })) };
}
