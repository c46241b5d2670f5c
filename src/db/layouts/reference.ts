import type { LayoutName } from './detect.js';

// What each layout's tables should look like, for `schemas doctor` and `schemas repair`. Kept
// beside the column mapping (layout.ts) so that a layout is described in one place.

/** One column as the catalog shows it: format_type() for built-in types, the bare name for our enum. */
export interface ColumnReference {
  name: string;
  type: string;
  notNull: boolean;
  /** pg_get_expr() of the default as PostgreSQL prints it; `nextval` stands for a serial's sequence. */
  default: string | null;
  /** The application writes it: a missing one breaks inserts (an error, not a warning). */
  written: boolean;
}

export interface IndexReference {
  name: string;
  method: 'btree' | 'gin';
  /** Key columns, for matching: an index with the same method and key columns serves, whatever its name. */
  columns: string[];
  /** What follows `on <table>` when it is created: `using btree (created_at desc, task_id desc)`. */
  definition: string;
}

export interface ForeignKeyReference {
  columns: string[];
  refTable: string;
  refColumns: string[];
  onDelete: 'cascade';
}

export interface TableReference {
  name: string;
  columns: ColumnReference[];
  primaryKey: string[];
  foreignKeys: ForeignKeyReference[];
  indexes: IndexReference[];
  /** The BEFORE UPDATE trigger that keeps updated_at, if the table has one. */
  updatedAtTrigger: string | null;
}

export interface LayoutReference {
  layout: LayoutName;
  /** Where the reference comes from, for people reading doctor's output. */
  source: string;
  tables: TableReference[];
  /** The trigger function (in the table's own schema) that sets updated_at := now(). */
  updatedAtFunction: string;
}

const col = (name: string, type: string, notNull: boolean, def: string | null = null, written = true): ColumnReference => ({ name, type, notNull, default: def, written });
const btree = (name: string, ...columns: string[]): IndexReference => ({ name, method: 'btree', columns, definition: `using btree (${columns.map((c) => `"${c}"`).join(', ')})` });
const gin = (name: string, column: string): IndexReference => ({ name, method: 'gin', columns: [column], definition: `using gin ("${column}")` });
const cascade = (column: string, refTable: string, refColumn: string): ForeignKeyReference => ({ columns: [column], refTable, refColumns: [refColumn], onDelete: 'cascade' });

const TSZ = 'timestamp with time zone';
const NOW = 'now()';

/**
 * Bindu's server: what Alembic's head (20260418_0001) makes in `public` together with what
 * `metadata.create_all` (bindu/server/storage/schema.py) makes in an agent schema. The server
 * reads and writes both the same way, so each is held to everything either of them creates:
 * create_all leaves out the updated_at triggers, the GIN indexes on history, artifacts and
 * message_history, and the server-side default of `kind` (SQLAlchemy fills it in Python);
 * schemas made before April 2026 also lack owner_did and its indexes.
 */
export const SERVER_REFERENCE: LayoutReference = {
  layout: 'bindu-server',
  source: "Bindu's Alembic head 20260418_0001 and metadata.create_all",
  updatedAtFunction: 'update_updated_at_column',
  tables: [
    {
      name: 'contexts',
      columns: [
        col('id', 'uuid', true),
        col('owner_did', 'character varying(255)', false),
        col('context_data', 'jsonb', true, "'{}'::jsonb"),
        // Declared, never written: a context's conversation lives in its tasks' history.
        col('message_history', 'jsonb', false, "'[]'::jsonb", false),
        col('created_at', TSZ, true, NOW),
        col('updated_at', TSZ, true, NOW),
      ],
      primaryKey: ['id'],
      foreignKeys: [],
      indexes: [
        btree('idx_contexts_created_at', 'created_at'),
        btree('idx_contexts_updated_at', 'updated_at'),
        btree('idx_contexts_owner_did', 'owner_did'),
        gin('idx_contexts_data_gin', 'context_data'),
        gin('idx_contexts_history_gin', 'message_history'),
      ],
      updatedAtTrigger: 'update_contexts_updated_at',
    },
    {
      name: 'tasks',
      columns: [
        col('id', 'uuid', true),
        col('context_id', 'uuid', true),
        col('owner_did', 'character varying(255)', false),
        col('kind', 'character varying(50)', true, "'task'::character varying"),
        col('state', 'character varying(50)', true),
        col('state_timestamp', TSZ, true),
        col('history', 'jsonb', true, "'[]'::jsonb"),
        col('artifacts', 'jsonb', false, "'[]'::jsonb"),
        col('metadata', 'jsonb', false, "'{}'::jsonb"),
        col('created_at', TSZ, true, NOW),
        col('updated_at', TSZ, true, NOW),
      ],
      primaryKey: ['id'],
      foreignKeys: [cascade('context_id', 'contexts', 'id')],
      indexes: [
        btree('idx_tasks_context_id', 'context_id'),
        btree('idx_tasks_state', 'state'),
        btree('idx_tasks_created_at', 'created_at'),
        btree('idx_tasks_updated_at', 'updated_at'),
        btree('idx_tasks_owner_did', 'owner_did'),
        gin('idx_tasks_history_gin', 'history'),
        gin('idx_tasks_metadata_gin', 'metadata'),
        gin('idx_tasks_artifacts_gin', 'artifacts'),
      ],
      updatedAtTrigger: 'update_tasks_updated_at',
    },
    {
      name: 'task_feedback',
      columns: [
        col('id', 'integer', true, 'nextval'),
        col('task_id', 'uuid', true),
        col('feedback_data', 'jsonb', true),
        col('created_at', TSZ, true, NOW),
      ],
      primaryKey: ['id'],
      foreignKeys: [cascade('task_id', 'tasks', 'id')],
      indexes: [btree('idx_task_feedback_task_id', 'task_id'), btree('idx_task_feedback_created_at', 'created_at')],
      updatedAtTrigger: null,
    },
    {
      name: 'webhook_configs',
      columns: [col('task_id', 'uuid', true), col('config', 'jsonb', true), col('created_at', TSZ, true, NOW), col('updated_at', TSZ, true, NOW)],
      primaryKey: ['task_id'],
      foreignKeys: [cascade('task_id', 'tasks', 'id')],
      indexes: [btree('idx_webhook_configs_created_at', 'created_at')],
      updatedAtTrigger: 'update_webhook_configs_updated_at',
    },
  ],
};

/** An index of ours: key columns for matching, and the definition our migrations wrote. */
const ours = (name: string, columns: string[], definition: string): IndexReference => ({ name, method: 'btree', columns, definition });

/** Ours: the head of migrations/ (a test migrates a fresh schema and expects doctor to find nothing). */
export const OURS_REFERENCE: LayoutReference = {
  layout: 'bindu-db',
  source: "bindu-db's migrations (head 20261126_0001_add_inspection_indexes)",
  updatedAtFunction: 'set_updated_at',
  tables: [
    {
      name: 'contexts',
      columns: [
        col('context_id', 'uuid', true, 'gen_random_uuid()'),
        col('messages', 'jsonb', true, "'[]'::jsonb"),
        col('metadata', 'jsonb', true, "'{}'::jsonb"),
        col('created_at', TSZ, true, NOW),
        col('updated_at', TSZ, true, NOW),
      ],
      primaryKey: ['context_id'],
      foreignKeys: [],
      indexes: [ours('contexts_created_idx', ['created_at', 'context_id'], 'using btree (created_at desc, context_id desc)')],
      updatedAtTrigger: 'contexts_set_updated_at',
    },
    {
      name: 'tasks',
      columns: [
        col('task_id', 'uuid', true, 'gen_random_uuid()'),
        col('context_id', 'uuid', true),
        col('status', 'task_status', true, "'pending'::task_status"),
        col('history', 'jsonb', true, "'[]'::jsonb"),
        col('artifacts', 'jsonb', true, "'{}'::jsonb"),
        col('created_at', TSZ, true, NOW),
        col('updated_at', TSZ, true, NOW),
      ],
      primaryKey: ['task_id'],
      foreignKeys: [cascade('context_id', 'contexts', 'context_id')],
      indexes: [
        ours('tasks_created_idx', ['created_at', 'task_id'], 'using btree (created_at desc, task_id desc)'),
        ours('tasks_status_created_idx', ['status', 'created_at', 'task_id'], 'using btree (status, created_at desc, task_id desc)'),
        ours('tasks_context_created_id_idx', ['context_id', 'created_at', 'task_id'], 'using btree (context_id, created_at desc, task_id desc) include (updated_at)'),
      ],
      updatedAtTrigger: 'tasks_set_updated_at',
    },
    {
      name: 'task_feedback',
      columns: [
        col('feedback_id', 'uuid', true, 'gen_random_uuid()'),
        col('task_id', 'uuid', true),
        col('feedback', 'text', false),
        col('rating', 'integer', false),
        col('metadata', 'jsonb', true, "'{}'::jsonb"),
        col('created_at', TSZ, true, NOW),
      ],
      primaryKey: ['feedback_id'],
      foreignKeys: [cascade('task_id', 'tasks', 'task_id')],
      indexes: [
        ours('task_feedback_task_created_idx', ['task_id', 'created_at', 'feedback_id'], 'using btree (task_id, created_at desc, feedback_id desc)'),
        ours('task_feedback_created_idx', ['created_at', 'feedback_id'], 'using btree (created_at desc, feedback_id desc)'),
        ours('task_feedback_rating_created_idx', ['rating', 'created_at', 'feedback_id'], 'using btree (rating, created_at desc, feedback_id desc)'),
      ],
      updatedAtTrigger: null,
    },
    {
      name: 'webhook_configs',
      columns: [col('task_id', 'uuid', true), col('config', 'jsonb', true), col('created_at', TSZ, true, NOW), col('updated_at', TSZ, true, NOW)],
      primaryKey: ['task_id'],
      foreignKeys: [cascade('task_id', 'tasks', 'task_id')],
      indexes: [],
      updatedAtTrigger: 'webhook_configs_set_updated_at',
    },
  ],
};

export function referenceFor(layout: LayoutName): LayoutReference {
  return layout === 'bindu-db' ? OURS_REFERENCE : SERVER_REFERENCE;
}
