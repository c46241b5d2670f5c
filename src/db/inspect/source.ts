import type { SqlRunner } from '../sqlRunner.js';
import { ident } from '../../lib/sqlIdent.js';
import type { Layout } from '../layouts/layout.js';

/**
 * What every data-access function reads from: a SQL runner (pg pool, or knex on the embedded
 * database), the schema, and the layout of its tables.
 */
export interface Source {
  sql: SqlRunner;
  schema: string;
  layout: Layout;
}

export function sourceOf(sql: SqlRunner, schema: string, layout: Layout): Source {
  return { sql, schema, layout };
}

/**
 * A table (or type) of the source's schema, schema-qualified: statements never depend on the
 * connection's search_path, which a transaction pooler does not keep and which names one schema
 * where a command may read many.
 */
export function table(source: Pick<Source, 'schema'>, name: string): string {
  return `${ident(source.schema)}.${ident(name)}`;
}

/** A statement with `?` placeholders and its values, ready for knex.raw (or EXPLAIN in the tests). */
export interface Statement {
  sql: string;
  bindings: unknown[];
}

/** Builds WHERE clauses with bound values only. */
export class Where {
  readonly parts: string[] = [];
  readonly bindings: unknown[] = [];
  add(sql: string, ...values: unknown[]): this {
    this.parts.push(sql);
    this.bindings.push(...values);
    return this;
  }
  toString(): string {
    return this.parts.length ? `where ${this.parts.join(' and ')}` : '';
  }
}

export async function rowsOf<T>(source: Source, st: Statement): Promise<T[]> {
  return source.sql.query<T>(st.sql, st.bindings);
}

/** Postgres returns count(*) as bigint text; our counts fit a JS number. */
export const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** "?, ?, ?" for a list of values bound one by one (no array parameters: both drivers agree on scalars). */
export const placeholders = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/**
 * `, x."name"::type as "name"` for each column a branch of a union has (`has`), a typed null
 * for the others: every branch of a UNION ALL across layouts gives the same columns.
 */
export function typedColumns(names: readonly string[], types: Readonly<Record<string, string>>, has: readonly string[]): string {
  return names.map((name) => `, ${has.includes(name) ? `x.${ident(name)}` : 'null'}::${types[name] ?? 'text'} as ${ident(name)}`).join('');
}

/**
 * One page across schemas: each branch (one schema's statement, already cut at limit+1 in its
 * own index order) selected as `select` on alias x with its schema's rank, all of them in one
 * UNION ALL, merged by `order` and cut at `take`. Ranks follow the schemas' names, so that the
 * order is (created_at, schema, id) as keysetAfter pages it.
 */
export function unionAcross(branches: ReadonlyArray<{ rank: number; statement: Statement; select: string }>, order: string, take: number): Statement {
  const bindings: unknown[] = [];
  const parts = branches.map((b) => {
    bindings.push(b.rank, ...b.statement.bindings);
    return `(select ?::int as schema_rank, ${b.select} from (${b.statement.sql}) x)`;
  });
  return { sql: `select * from (${parts.join(' union all ')}) u order by ${order} limit ?`, bindings: [...bindings, take] };
}
