import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../../config.js';
import { RefusedError, UsageError } from '../../errors.js';
import { type DumpOptions, dumpArgs } from '../../lib/pgArgs.js';
import type { ToolCommand } from '../../lib/process.js';
import { connectionOf, toolEnv } from '../pgTools.js';

/** gzip's default level: pg_dump's and ours, so both targets make the same trade-off. */
export const GZIP_LEVEL = 6;

/** plain: .sql; gzip: plain SQL gzip-compressed, .sql.gz; custom: pg_dump's archive, .dump. */
export type BackupFormat = 'plain' | 'gzip' | 'custom';

export interface BackupOptions {
  file: string;
  /** --format; otherwise from the extension. */
  format?: 'plain' | 'custom';
  /** The schemas --schema named (already resolved: DIDs mapped, case kept). None: the whole database. */
  schemas?: string[];
  schemaOnly?: boolean;
  dataOnly?: boolean;
  /** Replace an existing file. */
  force?: boolean;
}

/** What a backup will do, decided before anything runs (and all that --dry-run shows). */
export interface BackupPlan {
  /** The target, absolute. */
  file: string;
  format: BackupFormat;
  force: boolean;
  /** The schemas asked for; empty: every schema that is not a system schema. */
  schemas: string[];
  /**
   * PostgreSQL: the pg_dump to run, writing to the file (its env holds the password: redact it to
   * show it). The embedded database: pg_dump's arguments, run in process.
   */
  dump: { kind: 'pg_dump'; tool: ToolCommand } | { kind: 'in-process'; args: string[]; schemaOnly: boolean; dataOnly: boolean };
}

/** The format from --format and the file name: the extension decides compression. */
export function resolveBackupFormat(file: string, flag?: string): BackupFormat {
  const gz = /\.gz$/i.test(file);
  if (flag !== undefined) {
    if (flag !== 'plain' && flag !== 'custom') throw new UsageError(`unknown format "${flag}"`, 'use --format plain or --format custom');
    if (flag === 'custom' && gz) throw new UsageError('a custom-format dump is already compressed: name it .dump, not .gz');
    return flag === 'plain' && gz ? 'gzip' : flag;
  }
  if (/\.sql\.gz$/i.test(file)) return 'gzip';
  if (/\.sql$/i.test(file)) return 'plain';
  if (/\.dump$/i.test(file)) return 'custom';
  throw new UsageError(`cannot tell the format of "${path.basename(file)}" from its extension`, 'name it .sql, .sql.gz or .dump, or pass --format plain|custom');
}

/** Checks the request and decides the backup, changing nothing: no file written, no connection, no process. */
export function planBackup(config: Config, opts: BackupOptions): BackupPlan {
  if (opts.file.trim() === '') throw new UsageError('no backup file given', 'name the file to write, e.g. bindu-db backup ./backup.sql');
  const file = path.resolve(opts.file);
  if (Buffer.byteLength(path.basename(file)) > 200) throw new UsageError(`the file name ${path.basename(file).slice(0, 40)}… is too long`, 'use a name of at most 200 bytes');
  const format = resolveBackupFormat(file, opts.format);
  if (fs.existsSync(file)) {
    if (fs.statSync(file).isDirectory()) throw new UsageError(`${opts.file} is a directory; give a file name`);
    if (!opts.force) throw new RefusedError(`${opts.file} already exists`, 'pass --force to replace it');
  }
  if (!fs.existsSync(path.dirname(file))) throw new UsageError(`directory ${path.dirname(file)} does not exist`);
  if (opts.schemaOnly && opts.dataOnly) throw new UsageError('use only one of --schema-only and --data-only');
  if (config.target.kind === 'embedded' && format === 'custom') {
    throw new UsageError('the embedded database backs up to plain SQL only', 'name the file .sql or .sql.gz');
  }
  const schemas = [...new Set(opts.schemas ?? [])];
  const dump: DumpOptions = { format: format === 'custom' ? 'custom' : 'plain', schemas, schemaOnly: opts.schemaOnly, dataOnly: opts.dataOnly };
  const force = opts.force === true;
  // The embedded database's dump is gzipped here; pg_dump compresses its own.
  if (config.target.kind === 'embedded') return { file, format, force, schemas, dump: { kind: 'in-process', args: dumpArgs(dump), schemaOnly: opts.schemaOnly === true, dataOnly: opts.dataOnly === true } };
  const args = dumpArgs({ ...dump, compress: format === 'gzip' ? GZIP_LEVEL : undefined });
  return { file, format, force, schemas, dump: { kind: 'pg_dump', tool: { name: 'pg_dump', command: config.tools.pgDump, args, env: toolEnv(config, connectionOf(config)) } } };
}
