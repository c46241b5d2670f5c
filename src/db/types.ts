// Normalized rows the inspection commands work on, whatever the table layout underneath
// (a Bindu server schema maps onto the same types). Field names are our own tables' columns.
import type { Timestamp } from './timestamps.js';

/** Task statuses as bindu-db names them (our enum); another layout's states are mapped onto these. */
export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'input_required'] as const;

/**
 * States only Bindu's server writes. Normalized spelling: snake_case like `input_required`
 * (the server writes `auth-required`); input accepts both.
 */
export const SERVER_ONLY_STATUSES = ['auth_required', 'canceled', 'rejected'] as const;

/** Every normalized status, ours first. */
export const ALL_TASK_STATUSES = [...TASK_STATUSES, ...SERVER_ONLY_STATUSES] as const;
export type TaskStatus = (typeof ALL_TASK_STATUSES)[number];

/** Statuses a task never leaves: retention may delete them; `tasks fail` leaves them alone. */
export const TERMINAL_STATUSES = ['completed', 'failed', 'canceled', 'rejected'] as const satisfies readonly TaskStatus[];

/** Statuses of a task still in progress (or waiting for its user): never pruned; `tasks stuck` lists them. */
export const LIVE_STATUSES = ['pending', 'running', 'input_required', 'auth_required'] as const satisfies readonly TaskStatus[];

/**
 * A task's normalized status as read. The server's `state` is free text: a value outside its
 * eight known states is passed through as written (and `state` carries it too).
 */
export type ReadStatus = TaskStatus | (string & Record<never, never>);

/**
 * What a task of the server layout carries beyond our own tables' columns: its own values where ours
 * have no exact equivalent. Absent on the bindu-db layout.
 */
export interface ServerTaskFields {
  /** The server's state as stored (`submitted`, `canceled`, ...); `status` is its normalized name. */
  state?: string;
  state_timestamp?: Timestamp | null;
  /** Null on schemas made before owner_did existed (April 2026). */
  owner_did?: string | null;
  /** `metadata->>'x402.payment.status'`, e.g. payment-failed; null when the task has none. */
  payment_status?: string | null;
}

/** A task as a list shows it: no large JSON columns, plus derived fields. */
export interface TaskSummaryRow extends ServerTaskFields {
  task_id: string;
  context_id: string;
  status: ReadStatus;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Number of messages in the task's history. */
  message_count: number;
  /** For failed tasks: the text of the last agent message; otherwise null. */
  failure_reason: string | null;
}

/** Every column of a task. */
export interface TaskRow extends ServerTaskFields {
  task_id: string;
  context_id: string;
  status: ReadStatus;
  history: unknown[];
  /** An object on the bindu-db layout, an array on the server's. */
  artifacts: Record<string, unknown> | unknown[];
  /** Server layout only: the task's metadata object (x402 payment keys live here). */
  kind?: string;
  metadata?: Record<string, unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface ContextSummaryRow {
  context_id: string;
  /** Server layout only (null on schemas made before owner_did existed). */
  owner_did?: string | null;
  metadata: Record<string, unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
  message_count: number;
  /** Server layout: the messages are its tasks' `history` (the server keeps none on the context). */
  messages_from?: 'tasks.history';
  task_count: number;
  /** Latest of the context's own updated_at and its tasks' updated_at. */
  last_activity_at: Timestamp;
}

export interface ContextRow {
  context_id: string;
  /** Server layout only (null on schemas made before owner_did existed). */
  owner_did?: string | null;
  /** The context's conversation: its own messages, or on the server layout its tasks' history in order. */
  messages: unknown[];
  /** Server layout: where `messages` came from. */
  messages_from?: 'tasks.history';
  metadata: Record<string, unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface FeedbackRow {
  /** A UUID on the bindu-db layout; the server's serial id as text on its layout. */
  feedback_id: string;
  task_id: string;
  feedback: string | null;
  /** 1-5 on ours; on the server's (not enforced there) whatever number feedback_data holds. */
  rating: number | null;
  metadata: Record<string, unknown>;
  created_at: Timestamp;
}

export interface WebhookConfigRow {
  task_id: string;
  config: Record<string, unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** A page of a keyset-paginated list; `next` is the cursor of the following page, if any. */
export interface Page<T> {
  items: T[];
  next: string | null;
}

export interface TableSize {
  rows: number;
  bytes: number;
}

export interface StatsRow {
  /** Normalized statuses of the layout, each present (0 when none), plus any unknown server state as written. */
  tasks_by_status: Record<string, number>;
  /** Server layout only: counts by the server's own state values. */
  tasks_by_state?: Record<string, number>;
  /** The last 14 days (UTC), oldest first, today included. */
  tasks_per_day: Array<{ date: string; count: number }>;
  /** failed / all tasks; null when there are no tasks. */
  failure_rate: number | null;
  feedback: { count: number; by_rating: Record<string, number>; average_rating: number | null };
  table_sizes: Record<string, TableSize>;
  /** --all-schemas: how many schemas the numbers add up. */
  schemas?: number;
}
