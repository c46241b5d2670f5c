import { TASK_STATUSES, type TaskStatus } from '../types.js';

/**
 * Where a column's value comes from: a column name, or an expression over one row of the table
 * (the server keeps feedback fields inside one JSON column). Expressions are built here from
 * constants only, never from user input.
 */
export type Field = string | { readonly expr: (alias: string) => string };

/**
 * Where a table layout keeps what the inspection commands read. Queries are written once
 * against this mapping and return the normalized rows of ../types.ts, so the Bindu server
 * layout of SPEC §8 (`id`, `state`, `context_data`, `message_history`, ...) is one more
 * Layout object, not a second set of commands.
 */
export interface Layout {
  readonly name: 'bindu-db' | 'bindu-server';
  readonly tasks: {
    table: string;
    id: string;
    contextId: string;
    status: string;
    history: string;
    artifacts: Field;
    createdAt: string;
    updatedAt: string;
    /** Owner DID column; null where the schema has none (then --owner is a usage error). */
    ownerDid: string | null;
    /** The task's metadata JSON column (x402 payment keys); null where there is none. */
    metadata: string | null;
    /** Extra output fields of a list item (server values with no exact equivalent of ours). */
    summaryExtras: ReadonlyArray<readonly [string, Field]>;
    /** Extra output fields of `tasks show` and `tasks export`. */
    detailExtras: ReadonlyArray<readonly [string, Field]>;
  };
  readonly contexts: {
    table: string; id: string; messages: Field; metadata: Field; createdAt: string; updatedAt: string;
    /** Owner DID column; null where the schema has none (then --owner is a usage error). */
    ownerDid: string | null;
    extras: ReadonlyArray<readonly [string, Field]>;
  };
  readonly feedback: { table: string; id: string; idType: 'uuid' | 'integer'; taskId: string; text: Field; rating: Field; metadata: Field; createdAt: string };
  readonly webhooks: { table: string; taskId: string; config: string; createdAt: string; updatedAt: string } | null;
  /** The normalized statuses this layout can hold (validation, the keys of stats). */
  readonly statuses: readonly TaskStatus[];
  /** Status is free text (the server's `state varchar`): stats group by it to see every value. */
  readonly freeTextStatus: boolean;
  /**
   * The stored status values a normalized status stands for. Only for statuses in `statuses`
   * (core validates first); anything else is passed through, and bound, as is.
   */
  storedStatuses(status: TaskStatus): string[];
  /** The normalized status of a stored value (an unknown one as written). */
  normalizeStatus(stored: string): string;
  /** SQL giving the normalized status of a stored-status expression (for JSON built by the server). */
  normalizeStatusSql(expr: string): string;
}

/** The layout our own migrations create (SPEC §3). */
export const BINDU_DB_LAYOUT: Layout = {
  name: 'bindu-db',
  tasks: {
    table: 'tasks', id: 'task_id', contextId: 'context_id', status: 'status', history: 'history', artifacts: 'artifacts',
    createdAt: 'created_at', updatedAt: 'updated_at', ownerDid: null, metadata: null, summaryExtras: [], detailExtras: [],
  },
  contexts: { table: 'contexts', id: 'context_id', messages: 'messages', metadata: 'metadata', createdAt: 'created_at', updatedAt: 'updated_at', ownerDid: null, extras: [] },
  feedback: { table: 'task_feedback', id: 'feedback_id', idType: 'uuid', taskId: 'task_id', text: 'feedback', rating: 'rating', metadata: 'metadata', createdAt: 'created_at' },
  webhooks: { table: 'webhook_configs', taskId: 'task_id', config: 'config', createdAt: 'created_at', updatedAt: 'updated_at' },
  statuses: TASK_STATUSES,
  freeTextStatus: false,
  storedStatuses: (status) => [status],
  normalizeStatus: (stored) => stored,
  normalizeStatusSql: (expr) => `${expr}::text`,
};

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
      summaryExtras: [
        ['state', 'state'],
        ['state_timestamp', 'state_timestamp'],
        ['owner_did', owner],
        ['payment_status', { expr: (a) => `(${col(a, 'metadata')} ->> ${literal(PAYMENT_STATUS_KEY)})` }],
      ],
      detailExtras: [
        ['state', 'state'],
        ['state_timestamp', 'state_timestamp'],
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

/**
 * A quoted identifier. Identifiers come only from the Layout constants above, never from
 * user input (values always travel as bound parameters); quoting keeps odd names safe anyway.
 */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A SQL string literal of a constant of this module (JSON keys, state names); never user input. */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A field of a table alias: col('t', 'task_id') -> t."task_id"; an expression field rendered on the alias. */
export function col(alias: string, field: Field): string {
  return typeof field === 'string' ? `${alias}.${ident(field)}` : field.expr(alias);
}

/** ", expr as name, ..." for extra output fields (empty when there are none). */
export function extraColumns(alias: string, extras: ReadonlyArray<readonly [string, Field]>): string {
  return extras.map(([name, field]) => `, ${col(alias, field)} as ${ident(name)}`).join('');
}
