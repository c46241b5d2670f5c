import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../../config.js';
import { createScratchDatabase, dropScratchDatabase, rowCountsOf } from '../../db/backupCatalog.js';
import { type Database, openDatabase } from '../../db/connect.js';
import { withConnection } from '../../db/pgClient.js';
import { OperationError } from '../../errors.js';
import { scratchDir } from '../../lib/leftovers.js';
import { type RestoreTarget, inspectBackup, prepareRestore, restore, restoreWork, withRestoreTarget } from '../restore/run.js';
import { manifestTables } from './manifest.js';
import { connectionOf } from '../pgTools.js';

export interface VerifyResult {
  file: string;
  ok: boolean;
  /** Where it was restored: a scratch database on the server, or the embedded database. */
  scratch: 'server' | 'embedded';
  tables: Record<string, { expected: number; restored: number | null }>;
  seconds: number;
}

/**
 * Proves a backup restores: loads it into a scratch database (a throwaway database on the same
 * server when the role may create one, else the embedded database in a temporary directory),
 * counts each table's rows and compares them with the counts the backup recorded when it was made
 * (its manifest). The scratch database is dropped afterwards, whatever happens.
 */
export async function verifyBackup(config: Config, fileArg: string, signal: AbortSignal): Promise<VerifyResult> {
  const started = process.hrtime.bigint();
  const inspected = await inspectBackup(config, fileArg);
  const manifest = inspected.manifest;
  if (!manifest) throw new OperationError(`${fileArg} records no row counts: it was not made by bindu-db backup, so there is nothing to compare with`, 'bindu-db restore can still restore it');
  const countRestored = async (db: RestoreTarget, scratch: Config) => {
    try {
      const plan = await prepareRestore(db, scratch, inspected, false);
      await restore(db, scratch, plan, signal);
    } catch (err) {
      if (signal.aborted) throw err;
      throw new OperationError(`${fileArg} does not restore: ${(err as Error).message}`, 'the backup is damaged: make a new one');
    }
    return rowCountsOf(db.sql, manifestTables(manifest));
  };
  const loadAndCount = async (scratch: Config) => {
    // A scratch embedded instance is ours to close (withRestoreTarget closes only the connection to
    // a server's scratch database): left open, its data directory stays locked and PGlite's
    // timers keep the process alive.
    let opened: Database | undefined;
    try {
      return await withRestoreTarget(scratch, async () => (opened = await openDatabase(scratch, { bulk: true, work: restoreWork(fileArg) })), (db) => countRestored(db, scratch));
    } finally {
      await opened?.close();
    }
  };

  let counts: Record<string, number | null> | undefined;
  let where: VerifyResult['scratch'] = 'embedded';
  if (config.target.kind === 'postgres') {
    const c = connectionOf(config);
    const name = `bindu_verify_${randomBytes(6).toString('hex')}`;
    const admin = (fn: Parameters<typeof withConnection>[2]) => withConnection(c, config.connectTimeoutSeconds, fn);
    if (await admin((q) => createScratchDatabase(q, name))) {
      where = 'server';
      try {
        counts = await loadAndCount({ ...config, target: { kind: 'postgres', connection: { ...c, database: name } } });
      } finally {
        await admin((q) => dropScratchDatabase(q, name));
      }
    }
  }
  if (!counts) {
    // A scratch directory of a verify killed outright (kill -9) holds a whole restored database: the next verify removes it.
    const scratch = scratchDir('bindu-verify-');
    try {
      counts = await loadAndCount({ ...config, target: { kind: 'embedded', dataDir: path.join(scratch.dir, 'db') }, schema: 'public' });
    } finally {
      scratch.remove();
    }
  }
  const tables = Object.fromEntries(Object.entries(manifest.rows).map(([t, expected]) => [t, { expected, restored: counts![t] ?? null }]));
  const ok = Object.values(tables).every((t) => t.expected === t.restored);
  return { file: inspected.file, ok, scratch: where, tables, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}
