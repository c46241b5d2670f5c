import { ident } from '../../lib/sqlIdent.js';
import type { TaskStatus } from '../types.js';

/**
 * Where a column's value comes from: a column name, or an expression over one row of the table
 * (the server keeps feedback fields inside one JSON column). Expressions are built here from
 * constants only, never from user input.
 */
export type Field = string | { readonly expr: (alias: string) => string };

/**
 * Where a table layout keeps what the inspection commands read. Queries are written once
 * against this mapping and return the normalized rows of ../types.ts, so the layout Bindu's
 * server writes (`id`, `state`, `context_data`, `message_history`, ...) is one more
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
    /** When the state last changed (the server's state_timestamp); null where there is none. */
    stateTimestamp: string | null;
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
    /**
     * Where a context's conversation is kept: its own `messages`, or (Bindu's server, which
     * never writes message_history) its tasks' `history`, read in task order.
     */
    conversation: 'context' | 'tasks.history';
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

/** A SQL string literal of a constant of this module (JSON keys, state names); never user input. */
export function literal(text: string): string {
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
