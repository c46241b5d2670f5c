import type { Knex } from 'knex';
import { AGENT_SCHEMAS, legacyPublicDdl, serverSchemaDdl, serverSchemaRows } from '../fixtures/serverLayout.js';

/** Fills a database the way a Bindu server with three agents (one made before owner_did) would. */
export async function buildServerDatabase(knex: Knex, opts: { legacyPublic?: boolean } = {}): Promise<void> {
  const agents: [string, boolean, string][] = [
    [AGENT_SCHEMAS.echo, true, 'aa'],
    [AGENT_SCHEMAS.research, true, 'bb'],
    [AGENT_SCHEMAS.legacy, false, 'cc'],
  ];
  for (const [schema, ownerDid, prefix] of agents) {
    for (const sql of serverSchemaDdl(schema, { ownerDid })) await knex.raw(sql);
    for (const row of serverSchemaRows(schema, { ownerDid, prefix })) await knex.raw(row.sql, row.params as Knex.RawBinding[]);
  }
  if (opts.legacyPublic) {
    for (const sql of legacyPublicDdl()) await knex.raw(sql);
    for (const row of serverSchemaRows('public', { ownerDid: false, prefix: 'dd' })) await knex.raw(row.sql, row.params as Knex.RawBinding[]);
  }
}
