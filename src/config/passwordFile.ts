import fs from 'node:fs';
import type { PgConnection } from './databaseUrl.js';

/** What the password file PGPASSFILE names gives a connection: a password, or why it gives none. */
export type PasswordFileLookup = { password: string } | { none: string };

/**
 * libpq's password file (https://www.postgresql.org/docs/current/libpq-pgpass.html), read as libpq
 * reads it, so the driver and the tools agree: the first `host:port:database:user:password` line
 * whose fields match (`*` matches anything; `\` escapes `:` and `\`); a file that group or others
 * may read is ignored. node-pg's own reading of it is deprecated, and given no password its SASL
 * code leaves the connection (and the process) hanging: the password is looked up here instead.
 * Undefined: no such file, as libpq ignores a missing one.
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
  // A Unix-socket connection matches a `localhost` line too, as libpq's does.
  const hosts = c.host.startsWith('/') ? [c.host, 'localhost'] : [c.host];
  const wanted = [hosts, [String(c.port)], [c.database], [c.user]];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    if (wanted.every((values, i) => fields[i] === '*' || values.includes(fields[i]))) return { password: fields[4] };
  }
  return { none: `has no line for ${c.host}:${c.port}:${c.database}:${c.user} (add one)` };
}

/** A line's fields: split at unescaped colons, the escapes removed (the password is the fifth; libpq reads no further). */
function splitFields(line: string): string[] {
  const fields = [''];
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
    else if (ch === ':') fields.push('');
    else fields[fields.length - 1] += ch;
  }
  return fields;
}
