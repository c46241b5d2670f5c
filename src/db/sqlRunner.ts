import type { Knex } from 'knex';
import type pg from 'pg';

/**
 * The narrow SQL interface the read paths use: `?` placeholders, bound values, rows out.
 * On PostgreSQL it runs on a plain pg pool, so an inspection command never loads knex
 * (~90 ms of start-up, a third of a `tasks list`); on the embedded database it goes through
 * knex-pglite.
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

export function pgRunner(pool: pg.Pool): SqlRunner {
  const on = (client: pg.Pool | pg.PoolClient): SqlRunner => ({
    query: async <R>(sql: string, bindings: readonly unknown[] = []) => (await client.query(positional(sql), bindings as unknown[])).rows as R[],
    transaction: async (fn) => {
      const conn = await pool.connect();
      try {
        await conn.query('begin');
        const result = await fn(on(conn));
        await conn.query('commit');
        return result;
      } catch (err) {
        await conn.query('rollback').catch(() => undefined);
        throw err;
      } finally {
        conn.release();
      }
    },
  });
  return on(pool);
}

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
