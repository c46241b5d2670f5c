// Normalized rows the inspection commands work on, whatever the table layout underneath
// (SPEC §8: a Bindu server schema maps onto the same types). Field names are SPEC §3's.

/** Task statuses as bindu-db names them; another layout's states are mapped onto these. */
export const TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'input_required'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** A task as a list shows it: no large JSON columns, plus derived fields. */
export interface TaskSummaryRow {
  task_id: string;
  context_id: string;
  status: TaskStatus;
  created_at: Date;
  updated_at: Date;
  /** Number of messages in the task's history. */
  message_count: number;
  /** For failed tasks: the text of the last agent message; otherwise null. */
  failure_reason: string | null;
}

/** Every column of a task. */
export interface TaskRow {
  task_id: string;
  context_id: string;
  status: TaskStatus;
  history: unknown[];
  artifacts: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface ContextSummaryRow {
  context_id: string;
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  message_count: number;
  task_count: number;
  /** Latest of the context's own updated_at and its tasks' updated_at. */
  last_activity_at: Date;
}

export interface ContextRow {
  context_id: string;
  messages: unknown[];
  metadata: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

export interface FeedbackRow {
  feedback_id: string;
  task_id: string;
  feedback: string | null;
  rating: number | null;
  metadata: Record<string, unknown>;
  created_at: Date;
}

export interface WebhookConfigRow {
  task_id: string;
  config: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
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
  tasks_by_status: Record<TaskStatus, number>;
  /** The last 14 days (UTC), oldest first, today included. */
  tasks_per_day: Array<{ date: string; count: number }>;
  /** failed / all tasks; null when there are no tasks. */
  failure_rate: number | null;
  feedback: { count: number; by_rating: Record<string, number>; average_rating: number | null };
  table_sizes: Record<string, TableSize>;
}
