import { createHash } from 'node:crypto';

/**
 * The Postgres schema Bindu's server keeps an agent's tables in, from the agent's DID
 * (did:bindu:<author>:<agent>:<uuid>): lowercase, every character outside [a-z0-9_] becomes
 * '_', a leading digit gets 'schema_' in front, and a name over 63 characters is cut to 54
 * characters + '_' + the first 8 hex digits of the sha256 of the uncut name.
 */
export function schemaNameForDid(did: string): string {
  let name = did.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (/^[0-9]/.test(name)) name = `schema_${name}`;
  if (name.length > 63) name = `${name.slice(0, 54)}_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  return name;
}

/**
 * A --schema value as the schema it names: a DID becomes its agent's schema, any other value is
 * the name exactly (case, spaces and punctuation kept: every query quotes it). What PostgreSQL
 * could never hold (empty, over 63 bytes), control characters and the system's own schemas are
 * refused.
 */
export function schemaName(given: string): string | undefined {
  const name = given.startsWith('did:') ? schemaNameForDid(given) : given;
  // PostgreSQL's own schemas (information_schema, pg_*) are never Bindu's.
  // eslint-disable-next-line no-control-regex
  return name === '' || Buffer.byteLength(name) > 63 || /[\u0000-\u001f\u007f-\u009f]/.test(name) || /^(pg_|information_schema$)/i.test(name) ? undefined : name;
}
