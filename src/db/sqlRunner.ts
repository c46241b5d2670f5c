import type { PGlite, Transaction } from '@electric-sql/pglite';
import type { Knex } from 'knex';
import type pg from 'pg';

/**
 * The one way our code talks to the database: `?` placeholders, bound values, rows out.
 * On PostgreSQL it runs on a plain pg pool (or one held connection), on the embedded database
 * on PGlite itself, so no command of ours loads knex (~90 ms of start-up, a third of a
 * `tasks list`); knex is only what migration and seed code is handed.
 */
export interface SqlRunner {
  query<R = Record<string, unknown>>(sql: string, bindings?: readonly unknown[]): Promise<R[]>;
  /** Runs fn on one connection inside BEGIN … COMMIT (ROLLBACK on error). */
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

/** `?` -> `$n`, with `\?` kept as a literal `?` (knex's rule, so the same SQL runs on both). */
export function positional(sql: string): string {
  let n = 0;
  return sql.replace(/(\\*)(\?)/g, (_m, escapes: string) => (escapes.length % 2 ? `${escapes.slice(1)}?` : `${escapes}$${++n}`));
}

/** The runner over a pg pool: each query on any free connection, a transaction on one. */
export function pgRunner(pool: pg.Pool): SqlRunner {
  return runnerOn(pool, async () => {
    const conn = await pool.connect();
    return { conn, release: () => conn.release() };
  });
}

/** The runner over one connection held by the caller (a session): everything runs on it. */
export function pgClientRunner(client: pg.ClientBase): SqlRunner {
  return runnerOn(client, async () => ({ conn: client, release: () => undefined }));
}

type Connect = () => Promise<{ conn: pg.ClientBase; release(): void }>;

function runnerOn(target: pg.Pool | pg.ClientBase, connect: Connect): SqlRunner {
  // Unnamed statements only: a named prepared statement does not survive a transaction pooler.
  const on = (client: pg.Pool | pg.ClientBase): SqlRunner => ({
    query: async <R>(sql: string, bindings: readonly unknown[] = []) => (await client.query(positional(sql), bindings as unknown[])).rows as R[],
    transaction: async (fn) => {
      const { conn, release } = await connect();
      try {
        await conn.query('begin');
        const result = await fn(on(conn));
        await conn.query('commit');
        return result;
      } catch (err) {
        await conn.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        release();
      }
    },
  });
  return on(target);
}

/** The runner over the embedded PGlite (one session): no knex on the read paths there either. */
export function pgliteRunner(pglite: PGlite): SqlRunner {
  const on = (q: PGlite | Transaction): SqlRunner => ({
    query: async <R>(sql: string, bindings: readonly unknown[] = []) => (await q.query<R>(positional(sql), bindings as unknown[])).rows,
    transaction: (fn) => pglite.transaction((tx) => fn(on(tx))),
  });
  return on(pglite);
}

/** knex as a runner: for the statements of ours that run inside a migration's knex transaction. */
export function knexRunner(knex: Knex | Knex.Transaction): SqlRunner {
  return {
    query: async <R>(sql: string, bindings: readonly unknown[] = []) => {
      try {
        return ((await knex.raw(sql, bindings as Knex.RawBinding[])) as { rows: R[] }).rows;
      } catch (err) {
        // knex prefixes the whole statement to the server's message; errors are one line.
        const prefix = `${positional(sql)} - `;
        if (err instanceof Error && err.message.startsWith(prefix)) err.message = err.message.slice(prefix.length);
        throw err;
      }
    },
    transaction: (fn) => knex.transaction((trx) => fn(knexRunner(trx))),
  };
}
