import type { Knex } from 'knex';
import type { Statement } from '../../src/db/inspect/index.js';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan PostgreSQL picks for a statement (EXPLAIN, not run). */
export async function planNodes(knex: Knex, st: Statement): Promise<PlanNode[]> {
  const { rows } = await knex.raw(`explain (format json) ${st.sql}`, st.bindings as Knex.RawBinding[]);
  const out: PlanNode[] = [];
  const walk = (n: PlanNode) => {
    out.push(n);
    n.Plans?.forEach(walk);
  };
  walk((rows[0]['QUERY PLAN'] as Array<{ Plan: PlanNode }>)[0].Plan);
  return out;
}

/** "Index Scan tasks_status_created_idx", "Seq Scan tasks", ... for the scans of a plan. */
export async function scans(knex: Knex, st: Statement): Promise<string[]> {
  return (await planNodes(knex, st))
    .filter((n) => /Scan/.test(n['Node Type']) && (n['Index Name'] || n['Relation Name']))
    .map((n) => `${n['Node Type']} ${n['Index Name'] ?? n['Relation Name']}`);
}
