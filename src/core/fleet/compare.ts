import type { SchemaShape } from '../../db/fleet/catalog.js';
import type { Fix } from '../../db/fleet/repair.js';
import type { LayoutReference, TableReference } from '../../db/layouts/reference.js';

export type { Fix } from '../../db/fleet/repair.js';

// Pure: a schema's shape against its layout's reference, as a list of differences. What is
// missing is reported; what a schema has beyond the reference (an operator's own index) is not.

export type Severity = 'error' | 'warning';

export type FindingKind =
  | 'missing_table'
  | 'missing_column'
  | 'column_type'
  | 'column_nullability'
  | 'column_default'
  | 'primary_key'
  | 'foreign_key'
  | 'missing_index'
  | 'invalid_index'
  | 'index_definition'
  | 'missing_trigger';

export interface Finding {
  schema: string;
  table: string;
  /** table.column, the index or the trigger concerned. */
  object: string;
  kind: FindingKind;
  severity: Severity;
  message: string;
  expected: string | null;
  found: string | null;
  /** Whether `schemas repair` can fix it (only additive fixes are made). */
  repairable: boolean;
  fix?: Fix;
}

const ON_DELETE: Record<string, string> = { c: 'cascade', a: 'no action', r: 'restrict', n: 'set null', d: 'set default' };

/** A default as compared: a serial's nextval(...) is `nextval`, case and spacing ignored. */
function normalDefault(expr: string | null): string | null {
  if (expr === null) return null;
  if (/^nextval\(/i.test(expr)) return 'nextval';
  return expr.replace(/\s+/g, ' ').trim().toLowerCase();
}

/** An index key as compared: quotes dropped (pg_get_indexdef quotes only where needed). */
const key = (columns: string[]) => columns.map((c) => c.replace(/"/g, '')).join(',');

export function compareSchema(shape: SchemaShape, ref: LayoutReference): Finding[] {
  const out: Finding[] = [];
  const finding = (table: string, object: string, kind: FindingKind, severity: Severity, message: string, expected: string | null, found: string | null, fix?: Fix) =>
    out.push({ schema: shape.schema, table, object, kind, severity, message, expected, found, repairable: fix !== undefined, ...(fix ? { fix } : {}) });
  for (const t of ref.tables) {
    if (!shape.tables.includes(t.name)) {
      finding(t.name, t.name, 'missing_table', 'error', `table ${t.name} is missing`, t.name, null);
      continue;
    }
    compareColumns(shape, t, finding);
    compareKeys(shape, t, finding);
    compareIndexes(shape, t, finding);
    if (t.updatedAtTrigger) {
      const has = shape.triggers.some((g) => g.table === t.name && g.before_update_row && g.function === ref.updatedAtFunction);
      if (!has) {
        finding(t.name, t.updatedAtTrigger, 'missing_trigger', 'warning', `no updated_at trigger: updated_at is not kept by the database`, `${t.updatedAtTrigger} before update for each row execute function ${ref.updatedAtFunction}()`, null, {
          kind: 'create_trigger', table: t.name, trigger: t.updatedAtTrigger, function: ref.updatedAtFunction,
        });
      }
    }
  }
  return out;
}

type Report = (table: string, object: string, kind: FindingKind, severity: Severity, message: string, expected: string | null, found: string | null, fix?: Fix) => void;

function compareColumns(shape: SchemaShape, t: TableReference, finding: Report): void {
  for (const c of t.columns) {
    const object = `${t.name}.${c.name}`;
    const has = shape.columns.find((x) => x.table === t.name && x.name === c.name);
    if (!has) {
      // Added as nullable whatever the reference says: NOT NULL would need a value for every row.
      finding(t.name, object, 'missing_column', c.written ? 'error' : 'warning', `missing column${c.written ? ' (written by the application)' : ''}`, c.type, null, {
        kind: 'add_column', table: t.name, column: c.name, type: c.type, default: c.default === 'nextval' ? null : c.default,
      });
      continue;
    }
    if (has.type !== c.type) finding(t.name, object, 'column_type', 'error', `type is ${has.type}, expected ${c.type}`, c.type, has.type);
    if (has.not_null !== c.notNull) {
      finding(t.name, object, 'column_nullability', 'warning', c.notNull ? 'allows null, expected not null' : 'is not null, expected nullable', c.notNull ? 'not null' : 'null', has.not_null ? 'not null' : 'null');
    }
    if (normalDefault(has.default) !== normalDefault(c.default)) {
      // Setting a default changes future inserts only; dropping one is not ours to decide.
      const fix: Fix | undefined = c.default !== null && c.default !== 'nextval' ? { kind: 'set_default', table: t.name, column: c.name, default: c.default } : undefined;
      finding(t.name, object, 'column_default', 'warning', has.default === null ? `has no default, expected ${c.default}` : `default is ${has.default}, expected ${c.default ?? 'none'}`, c.default, has.default, fix);
    }
  }
}

function compareKeys(shape: SchemaShape, t: TableReference, finding: Report): void {
  const pk = shape.constraints.find((k) => k.table === t.name && k.type === 'p');
  if (!pk || key(pk.columns) !== key(t.primaryKey)) {
    finding(t.name, `${t.name} primary key`, 'primary_key', 'error', pk ? `primary key is (${pk.columns.join(', ')})` : 'no primary key', `(${t.primaryKey.join(', ')})`, pk ? `(${pk.columns.join(', ')})` : null);
  }
  for (const fk of t.foreignKeys) {
    const expected = `(${fk.columns.join(', ')}) references ${fk.refTable} (${fk.refColumns.join(', ')}) on delete ${fk.onDelete}`;
    const same = shape.constraints.filter((k) => k.table === t.name && k.type === 'f' && key(k.columns) === key(fk.columns));
    const match = same.find((k) => k.ref_table === fk.refTable && key(k.ref_columns ?? []) === key(fk.refColumns));
    if (!match) {
      finding(t.name, `${t.name}.${fk.columns.join(',')} foreign key`, 'foreign_key', 'error', `no foreign key ${expected}`, expected, null);
    } else if (ON_DELETE[match.on_delete ?? 'a'] !== fk.onDelete) {
      const found = `on delete ${ON_DELETE[match.on_delete ?? 'a']}`;
      finding(t.name, match.name, 'foreign_key', 'warning', `foreign key ${match.name} is ${found}, expected on delete ${fk.onDelete}`, `on delete ${fk.onDelete}`, found);
    }
  }
}

function compareIndexes(shape: SchemaShape, t: TableReference, finding: Report): void {
  const onTable = shape.indexes.filter((i) => i.table === t.name);
  for (const ix of t.indexes) {
    const serves = onTable.some((i) => i.valid && !i.partial && i.method === ix.method && key(i.columns) === key(ix.columns));
    if (serves) continue;
    const named = onTable.find((i) => i.name === ix.name);
    const expected = `${ix.name} ${ix.definition}`;
    if (named && !named.valid && named.building_pid !== null) {
      finding(t.name, ix.name, 'invalid_index', 'warning', `index is being built by backend ${named.building_pid} (perhaps an interrupted run's build, which goes on on the server): run repair again once it ends`, expected, `${named.name} being built`);
    } else if (named && !named.valid) {
      finding(t.name, ix.name, 'invalid_index', 'warning', 'index is INVALID (an interrupted CREATE INDEX CONCURRENTLY): it is kept up to date but never used', expected, `${named.name} invalid`, {
        kind: 'create_index', table: t.name, index: ix, rebuild: true,
      });
    } else if (named) {
      const other = `${named.partial ? 'partial ' : ''}${named.method} (${named.columns.join(', ')})`;
      finding(t.name, ix.name, 'index_definition', 'warning', `index has another definition: ${other}`, expected, other);
    } else {
      finding(t.name, ix.name, 'missing_index', 'warning', `missing ${ix.method} index on (${ix.columns.join(', ')})`, expected, null, { kind: 'create_index', table: t.name, index: ix, rebuild: false });
    }
  }
}
