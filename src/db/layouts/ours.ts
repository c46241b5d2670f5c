import { TASK_STATUSES } from '../types.js';
import type { Layout } from './layout.js';

/** The layout our own migrations create. */
export const BINDU_DB_LAYOUT: Layout = {
  name: 'bindu-db',
  tasks: {
    table: 'tasks', id: 'task_id', contextId: 'context_id', status: 'status', history: 'history', artifacts: 'artifacts',
    createdAt: 'created_at', updatedAt: 'updated_at', ownerDid: null, metadata: null, stateTimestamp: null, summaryExtras: [], detailExtras: [],
  },
  contexts: { table: 'contexts', id: 'context_id', messages: 'messages', metadata: 'metadata', createdAt: 'created_at', updatedAt: 'updated_at', ownerDid: null, extras: [], conversation: 'context' },
  feedback: { table: 'task_feedback', id: 'feedback_id', idType: 'uuid', taskId: 'task_id', text: 'feedback', rating: 'rating', metadata: 'metadata', createdAt: 'created_at' },
  webhooks: { table: 'webhook_configs', taskId: 'task_id', config: 'config', createdAt: 'created_at', updatedAt: 'updated_at' },
  statuses: TASK_STATUSES,
  freeTextStatus: false,
  storedStatuses: (status) => [status],
  normalizeStatus: (stored) => stored,
  normalizeStatusSql: (expr) => `${expr}::text`,
};
