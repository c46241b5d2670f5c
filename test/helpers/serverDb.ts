import type { Knex } from 'knex';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { AGENT_SCHEMAS, alembicPublicDdl, createAllSchemaDdl, legacyPublicDdl, serverSchemaRows } from '../fixtures/serverLayout.js';

/** Fills a database the way a Bindu server with three agents (one made before owner_did) would. */
export async function buildServerDatabase(knex: Knex, opts: { legacyPublic?: boolean } = {}): Promise<void> {
  const agents: [string, boolean, string][] = [
    [AGENT_SCHEMAS.echo, true, 'aa'],
    [AGENT_SCHEMAS.research, true, 'bb'],
    [AGENT_SCHEMAS.legacy, false, 'cc'],
  ];
  for (const [schema, ownerDid, prefix] of agents) {
    for (const sql of createAllSchemaDdl(schema, { ownerDid })) await knex.raw(sql);
    for (const row of serverSchemaRows(schema, { ownerDid, prefix })) await knex.raw(row.sql, row.params as Knex.RawBinding[]);
  }
  if (opts.legacyPublic) {
    for (const sql of legacyPublicDdl()) await knex.raw(sql);
    for (const row of serverSchemaRows('public', { ownerDid: false, prefix: 'dd' })) await knex.raw(row.sql, row.params as Knex.RawBinding[]);
  }
}

/** Agent schemas of a fleet as Bindu's own code makes them (see createAllSchemaDdl). */
export const FLEET = {
  /** create_all by an April 2026 server: owner_did, no triggers, no history/artifacts GIN. */
  current: AGENT_SCHEMAS.echo,
  /** create_all by a March 2026 server: no owner_did either. */
  old: AGENT_SCHEMAS.legacy,
};

/**
 * A database as a Bindu server with two agents leaves it, one agent made before owner_did:
 * `public` by Alembic (head), the agents by create_all, each with the rows of serverSchemaRows.
 */
export async function buildFleetDatabase(knex: Knex): Promise<void> {
  const run = async (sql: string, params: unknown[] = []) => void (await knex.raw(sql, params as Knex.RawBinding[]));
  for (const sql of alembicPublicDdl()) await run(sql);
  for (const row of serverSchemaRows('public', { ownerDid: true, prefix: 'dd' })) await run(row.sql, row.params);
  for (const [schema, ownerDid, prefix] of [[FLEET.current, true, 'aa'], [FLEET.old, false, 'cc']] as const) {
    for (const sql of createAllSchemaDdl(schema, { ownerDid })) await run(sql);
    for (const row of serverSchemaRows(schema, { ownerDid, prefix })) await run(row.sql, row.params);
  }
}

/** A schema of ours beside them: our migrations run into `schema` of the database at `url`. */
export async function addOurSchema(url: string, schema: string): Promise<void> {
  const ours = await openDatabase(loadConfig({ url, schema }, {}));
  try {
    await up(ours, readMigrations(), { lockTimeoutSeconds: 10 });
  } finally {
    await ours.close();
  }
}
