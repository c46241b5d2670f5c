import type { TaskStatus } from '../types.js';
import { utcTimestampSql } from '../timestamps.js';
import { type Field, type Layout, col, literal } from './layout.js';

/**
 * Normalized status -> the state Bindu's server writes (bindu/common/protocol/types.py
 * TaskState). Where the words differ we normalize to ours; `auth-required` gets our spelling.
 */
export const SERVER_STATES: Readonly<Record<TaskStatus, string>> = {
  pending: 'submitted',
  running: 'working',
  input_required: 'input-required',
  auth_required: 'auth-required',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
  rejected: 'rejected',
};
const FROM_SERVER = new Map(Object.entries(SERVER_STATES).map(([ours, theirs]) => [theirs, ours]));

/** The key under which the x402 extension records a task's payment status in tasks.metadata. */
export const PAYMENT_STATUS_KEY = 'x402.payment.status';

/**
 * The layout of Bindu's Python server (SQLAlchemy + Alembic, one schema per agent): see
 * test/fixtures/serverLayout.ts. `ownerDid`: whether the schema has owner_did columns
 * (absent in schemas made before April 2026).
 */
export function serverLayout(opts: { ownerDid: boolean }): Layout {
  const owner: Field = opts.ownerDid ? 'owner_did' : { expr: () => 'null::varchar' };
  const fromFeedback = (key: string) => ({ expr: (a: string) => `(${col(a, 'feedback_data')} ->> ${literal(key)})` });
  return {
    name: 'bindu-server',
    tasks: {
      table: 'tasks', id: 'id', contextId: 'context_id', status: 'state', history: 'history',
      artifacts: { expr: (a) => `coalesce(${col(a, 'artifacts')}, '[]'::jsonb)` },
      createdAt: 'created_at', updatedAt: 'updated_at',
      ownerDid: opts.ownerDid ? 'owner_did' : null,
      metadata: 'metadata',
      stateTimestamp: 'state_timestamp',
      summaryExtras: [
        ['state', 'state'],
        ['state_timestamp', 'state_timestamp'],
        ['owner_did', owner],
        ['payment_status', { expr: (a) => `(${col(a, 'metadata')} ->> ${literal(PAYMENT_STATUS_KEY)})` }],
      ],
      detailExtras: [
        ['state', 'state'],
        // Formatted in SQL: tasks export puts detail columns into JSON the server builds.
        ['state_timestamp', { expr: (a) => utcTimestampSql(col(a, 'state_timestamp')) }],
        ['owner_did', owner],
        ['kind', 'kind'],
        ['metadata', { expr: (a) => `coalesce(${col(a, 'metadata')}, '{}'::jsonb)` }],
      ],
    },
    contexts: {
      table: 'contexts', id: 'id',
      messages: { expr: (a) => `coalesce(${col(a, 'message_history')}, '[]'::jsonb)` },
      metadata: { expr: (a) => `coalesce(${col(a, 'context_data')}, '{}'::jsonb)` },
      createdAt: 'created_at', updatedAt: 'updated_at',
      ownerDid: opts.ownerDid ? 'owner_did' : null,
      extras: [['owner_did', owner]],
      conversation: 'tasks.history',
    },
    feedback: {
      table: 'task_feedback', id: 'id', idType: 'integer', taskId: 'task_id',
      text: fromFeedback('feedback'),
      // Not enforced by the server: any JSON number (or numeric text) is read as a number, anything
      // else as null. No `?` in the pattern: `?` is the placeholder of our SQL text.
      rating: {
        expr: (a) => {
          const v = `(${col(a, 'feedback_data')} -> 'rating')`;
          return `(case when jsonb_typeof(${v}) = 'number' then (${v} #>> '{}')::float8
                        when jsonb_typeof(${v}) = 'string' and (${v} #>> '{}') ~ '^\\s*-{0,1}[0-9]+(\\.[0-9]+){0,1}\\s*$' then (${v} #>> '{}')::float8 end)`;
        },
      },
      metadata: { expr: (a) => `coalesce(${col(a, 'feedback_data')} -> 'metadata', '{}'::jsonb)` },
      createdAt: 'created_at',
    },
    webhooks: { table: 'webhook_configs', taskId: 'task_id', config: 'config', createdAt: 'created_at', updatedAt: 'updated_at' },
    statuses: Object.keys(SERVER_STATES) as TaskStatus[],
    freeTextStatus: true,
    storedStatuses: (status) => [SERVER_STATES[status] ?? status],
    normalizeStatus: (stored) => FROM_SERVER.get(stored) ?? stored,
    normalizeStatusSql: (expr) => `(case ${expr}::text ${[...FROM_SERVER].filter(([a, b]) => a !== b).map(([theirs, ours]) => `when ${literal(theirs)} then ${literal(ours)}`).join(' ')} else ${expr}::text end)`,
  };
}

/** The server layout of schemas with owner_did (April 2026 on). */
export const BINDU_SERVER_LAYOUT: Layout = serverLayout({ ownerDid: true });
/** The server layout of schemas made before owner_did existed. */
export const BINDU_SERVER_LAYOUT_NO_OWNER: Layout = serverLayout({ ownerDid: false });
