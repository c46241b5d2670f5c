import { describe, expect, test } from '@jest/globals';
import { compareSchema } from '../../src/core/fleet/compare.js';
import type { SchemaShape } from '../../src/db/fleet/catalog.js';
import { type LayoutReference, OURS_REFERENCE, SERVER_REFERENCE } from '../../src/db/layouts/reference.js';
import { repairStatements } from '../../src/db/fleet/repair.js';

/** The catalog's view of a schema made exactly as the reference says. */
function shapeOf(ref: LayoutReference, schema = 's'): SchemaShape {
  return {
    schema,
    tables: ref.tables.map((t) => t.name),
    rows: {},
    columns: ref.tables.flatMap((t) => t.columns.map((c) => ({ table: t.name, name: c.name, type: c.type, not_null: c.notNull, default: c.default === 'nextval' ? `nextval('${t.name}_id_seq'::regclass)` : c.default }))),
    constraints: ref.tables.flatMap((t) => [
      { table: t.name, name: `${t.name}_pkey`, type: 'p' as const, columns: t.primaryKey, ref_table: null, ref_columns: null, on_delete: null },
      ...t.foreignKeys.map((f) => ({ table: t.name, name: `${t.name}_${f.columns[0]}_fkey`, type: 'f' as const, columns: f.columns, ref_table: f.refTable, ref_columns: f.refColumns, on_delete: 'c' })),
    ]),
    indexes: ref.tables.flatMap((t) => t.indexes.map((i) => ({ table: t.name, name: i.name, method: i.method, columns: i.columns, valid: true, partial: false, building_pid: null }))),
    triggers: ref.tables.flatMap((t) => (t.updatedAtTrigger ? [{ table: t.name, name: t.updatedAtTrigger, function: ref.updatedAtFunction, before_update_row: true }] : [])),
    functions: [ref.updatedAtFunction],
  };
}

const kinds = (shape: SchemaShape, ref = SERVER_REFERENCE) => compareSchema(shape, ref).map((f) => `${f.severity} ${f.kind} ${f.object}${f.repairable ? '' : ' (left)'}`);

describe('compareSchema', () => {
  test.each([SERVER_REFERENCE, OURS_REFERENCE])('a schema made as the reference says has no difference ($layout)', (ref) => {
    expect(compareSchema(shapeOf(ref), ref)).toEqual([]);
  });

  test('an index serves under any name; a partial, invalid or differently made one of that name does not', () => {
    const s = shapeOf(SERVER_REFERENCE);
    s.indexes = s.indexes.map((i) => (i.name === 'idx_tasks_state' ? { ...i, name: 'my_state_idx' } : i));
    expect(kinds(s)).toEqual([]);
    s.indexes = s.indexes.map((i) => (i.name === 'idx_tasks_created_at' ? { ...i, partial: true } : i.name === 'idx_tasks_history_gin' ? { ...i, valid: false } : i.name === 'idx_tasks_metadata_gin' ? { ...i, method: 'btree' } : i));
    expect(kinds(s)).toEqual(['warning index_definition idx_tasks_created_at (left)', 'warning invalid_index idx_tasks_history_gin', 'warning index_definition idx_tasks_metadata_gin (left)']);
    // One still being built (a build whose client went away goes on): not dropped under it.
    s.indexes = s.indexes.map((i) => (i.name === 'idx_tasks_history_gin' ? { ...i, building_pid: 4242 } : i));
    expect(compareSchema(s, SERVER_REFERENCE).find((f) => f.object === 'idx_tasks_history_gin')).toMatchObject({ kind: 'invalid_index', repairable: false, message: expect.stringMatching(/being built by backend 4242/) });
  });

  test('what repair may not fix is left to a person: a type, nullability, a key, ON DELETE, a table', () => {
    const s = shapeOf(SERVER_REFERENCE);
    s.columns = s.columns.map((c) => (c.table === 'tasks' && c.name === 'state' ? { ...c, type: 'text' } : c.table === 'tasks' && c.name === 'artifacts' ? { ...c, not_null: true } : c));
    s.constraints = s.constraints.flatMap((k) => (k.table === 'task_feedback' && k.type === 'f' ? [{ ...k, on_delete: 'a' }] : k.table === 'webhook_configs' ? [] : [k]));
    s.tables = s.tables.filter((t) => t !== 'contexts');
    expect(kinds(s)).toEqual([
      'error missing_table contexts (left)',
      'error column_type tasks.state (left)',
      'warning column_nullability tasks.artifacts (left)',
      'warning foreign_key task_feedback_task_id_fkey (left)',
      'error primary_key webhook_configs primary key (left)',
      'error foreign_key webhook_configs.task_id foreign key (left)',
    ]);
  });

  test('a serial\'s sequence is its default whatever its name; a default of the schema\'s enum is qualified when set', () => {
    const s = shapeOf(OURS_REFERENCE);
    s.columns = s.columns.map((c) => (c.name === 'status' ? { ...c, default: null } : c));
    const findings = compareSchema(s, OURS_REFERENCE);
    expect(findings.map((f) => f.object)).toEqual(['tasks.status']);
    expect(repairStatements('my schema', findings.map((f) => f.fix!), { concurrently: true, functions: [], columnTypes: new Map([['tasks.status', 'task_status']]) }).map((x) => x.sql)).toEqual([
      `alter table "my schema"."tasks" alter column "status" set default 'pending'::"my schema"."task_status"`,
    ]);
  });
});
