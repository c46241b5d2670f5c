import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { PgConnection } from './databaseUrl.js';

interface PgpassEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

interface Pgpass {
  parseLine(line: string): PgpassEntry | null;
  isValidEntry(entry: PgpassEntry): boolean;
  match(connInfo: { host: string; port: number; database: string; user: string }, entry: PgpassEntry): boolean;
}

/** Required once a file is there to read: most runs have none, and the embedded database never asks. */
const loadPgpass = () => (typeof require === 'function' ? require('pgpass/lib/helper.js') : createRequire(import.meta.url)('pgpass/lib/helper.js')) as Pgpass;

/** What the password file PGPASSFILE names gives a connection: a password, or why it gives none. */
export type PasswordFileLookup = { password: string } | { none: string };

/**
 * libpq's password file, read as libpq reads it, so the driver and the tools agree: the first
 * `host:port:database:user:password` line whose fields match (`*` matches anything; `\` escapes
 * `:` and `\`); a file that group or others may read is ignored. node-pg's own reading of it is
 * deprecated, and given no password its SASL code leaves the connection (and the process)
 * hanging: the password is looked up here instead. Undefined: no such file, as libpq ignores a
 * missing one.
 */
export function lookUpPasswordFile(file: string, c: Pick<PgConnection, 'host' | 'port' | 'database' | 'user'>): PasswordFileLookup | undefined {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) return { none: 'is not a plain file' };
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) return { none: 'is ignored, as libpq ignores it: others may read it (chmod 600 it)' };
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // pgpass is node-pg's reader of this file; its stream API warns on stderr itself and answers
  // only asynchronously, so its line parser and matcher are used here on the text read above.
  const pgpass = loadPgpass();
  const entries = text.split(/\r?\n/).map((line) => (line.startsWith('#') ? null : pgpass.parseLine(line))).filter((e): e is PgpassEntry => e !== null && pgpass.isValidEntry(e));
  // A Unix-socket connection matches a `localhost` line too, as libpq's does.
  const hosts = c.host.startsWith('/') ? [c.host, 'localhost'] : [c.host];
  const found = entries.find((e) => hosts.some((host) => pgpass.match({ host, port: c.port, database: c.database, user: c.user }, e)));
  return found ? { password: found.password } : { none: `has no line for ${c.host}:${c.port}:${c.database}:${c.user} (add one)` };
}
