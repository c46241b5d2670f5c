import type { Database } from '../db/connect.js';
import { taskStatusCounts, sourceOf } from '../db/inspect/index.js';
import type { SchemaInfo } from './schemas.js';
import { layoutFor } from './inspect.js';
import { schemas } from './schemas.js';

// The agents of a database at a glance: one row per schema holding Bindu tables (on a Bindu
// server, one per agent), with its tasks by status. Read-only; never prints.

export interface AgentSummary extends SchemaInfo {
  /** Normalized statuses of the schema's layout, each present (0 when none). */
  tasks_by_status: Record<string, number>;
  /** failed / all tasks; null when the schema holds none. */
  failure_rate: number | null;
}

/** Every schema with Bindu tables: layout, task counts by status, failure rate, last activity. */
export async function agentSummaries(db: Database): Promise<AgentSummary[]> {
  const result: AgentSummary[] = [];
  for (const info of await schemas(db)) {
    const { tasks_by_status } = await taskStatusCounts(sourceOf(db.sql, info.schema, layoutFor({ layout: info.layout, ownerDid: info.owner_did === true })));
    const total = Object.values(tasks_by_status).reduce((a, b) => a + b, 0);
    result.push({ ...info, tasks_by_status, failure_rate: total ? (tasks_by_status.failed ?? 0) / total : null });
  }
  return result;
}
