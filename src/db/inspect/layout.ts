import type { TaskStatus } from '../types.js';

/**
 * Where a table layout keeps what the inspection commands read. Queries are written once
 * against this mapping and return the normalized rows of ../types.ts, so the Bindu server
 * layout of SPEC §8 (`id`, `state`, `context_data`, `message_history`, ...) is one more
 * Layout object (plus an override where its shape differs, e.g. feedback as one JSON column),
 * not a second set of commands.
 */
export interface Layout {
  readonly name: 'bindu-db' | 'bindu-server';
  readonly tasks: {
    table: string;
    id: string;
    contextId: string;
    status: string;
    history: string;
    artifacts: string;
    createdAt: string;
    updatedAt: string;
  };
  readonly contexts: { table: string; id: string; messages: string; metadata: string; createdAt: string; updatedAt: string };
  readonly feedback: { table: string; id: string; taskId: string; text: string; rating: string; metadata: string; createdAt: string };
  readonly webhooks: { table: string; taskId: string; config: string; createdAt: string; updatedAt: string } | null;
  /** The stored status values a normalized status stands for (the server's `canceled`, `rejected`… map onto ours). */
  storedStatuses(status: TaskStatus): string[];
  /** The normalized status of a stored value. */
  normalizeStatus(stored: string): TaskStatus;
}

/** The layout our own migrations create (SPEC §3). */
export const BINDU_DB_LAYOUT: Layout = {
  name: 'bindu-db',
  tasks: { table: 'tasks', id: 'task_id', contextId: 'context_id', status: 'status', history: 'history', artifacts: 'artifacts', createdAt: 'created_at', updatedAt: 'updated_at' },
  contexts: { table: 'contexts', id: 'context_id', messages: 'messages', metadata: 'metadata', createdAt: 'created_at', updatedAt: 'updated_at' },
  feedback: { table: 'task_feedback', id: 'feedback_id', taskId: 'task_id', text: 'feedback', rating: 'rating', metadata: 'metadata', createdAt: 'created_at' },
  webhooks: { table: 'webhook_configs', taskId: 'task_id', config: 'config', createdAt: 'created_at', updatedAt: 'updated_at' },
  storedStatuses: (status) => [status],
  normalizeStatus: (stored) => stored as TaskStatus,
};

/**
 * A quoted identifier. Identifiers come only from the Layout constants above, never from
 * user input (values always travel as bound parameters); quoting keeps odd names safe anyway.
 */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A column of a table alias: col('t', 'task_id') -> t."task_id". */
export function col(alias: string, name: string): string {
  return `${alias}.${ident(name)}`;
}
