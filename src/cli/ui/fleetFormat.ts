import type { ChalkInstance } from 'chalk';
import type { DoctorResult, Finding } from '../../core/fleet/doctor.js';
import type { SchemaRepairPlan } from '../../core/fleet/repair.js';
import type { BackfillResult } from '../../core/fleet/backfillOwner.js';
import { formatTable, plural, visible, visibleLine } from './format.js';

// Pure formatting of the fleet commands' results: data in, lines out. Schema, table and index
// names come from the catalog, chosen by anyone who may create a schema: each is shown on one
// line with its control characters visible (a newline in a name must not end a `--` comment of
// repair's script and start a statement of its own). Statements keep their newlines (function
// bodies): inside a quoted identifier a newline starts no statement.

/** One finding on one line: severity, schema, object, what differs. */
export function formatFinding(f: Omit<Finding, 'fix'>, c: ChalkInstance): string {
  const severity = f.severity === 'error' ? c.red('error  ') : c.yellow('warning');
  return `${severity}  ${visibleLine(f.schema)}  ${visibleLine(f.object)}: ${visibleLine(f.message)}${f.repairable ? '' : c.dim(' (not repaired automatically)')}`;
}

export function formatDoctor(r: DoctorResult, c: ChalkInstance): string[] {
  if (r.schemas.length === 0) return ['No schema holds Bindu tables.'];
  return r.schemas.flatMap((s) => (s.findings.length ? s.findings.map((f) => formatFinding(f, c)) : [`${c.green('ok     ')}  ${visibleLine(s.schema)}  (${s.layout}): as ${s.reference} makes it`]));
}

export function doctorSummary(r: DoctorResult): string {
  const dirty = r.schemas.filter((s) => s.findings.length).length;
  return `${plural(r.schemas.length, 'schema')} checked: ${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')} in ${plural(dirty, 'schema')}`;
}

/** --dry-run: the SQL repair would run, schema by schema, as a script a person could read or run. */
export function formatRepairSql(plans: readonly SchemaRepairPlan[], lockTimeoutSeconds: number): string[] {
  return plans.flatMap((p) => {
    const left = p.left.map((f) => `-- not repaired (${f.severity}): ${visibleLine(f.object)}: ${visibleLine(f.message)}`);
    const schema = visibleLine(p.schema);
    if (p.statements.length === 0) return [`-- ${schema}: nothing to repair`, ...left];
    const inTx = p.statements.filter((s) => s.transactional);
    const outside = p.statements.filter((s) => !s.transactional);
    return [
      `-- ${schema} (${p.layout}): ${plural(p.fixes.length, 'fix', 'fixes')}`,
      ...(inTx.length ? ['begin;', `set local lock_timeout = '${lockTimeoutSeconds}s';`, ...inTx.map((s) => `${visible(s.sql)};`), 'commit;'] : []),
      ...outside.map((s) => `${visible(s.sql)};`),
      ...left,
    ];
  });
}

export function formatBackfill(r: BackfillResult, c: ChalkInstance): string[] {
  const head = r.dry_run ? ['SCHEMA', 'TASKS TO SET', 'CONTEXTS TO SET'] : ['SCHEMA', 'TASKS SET', 'CONTEXTS SET'];
  return r.schemas.length ? formatTable(head, r.schemas.map((s) => [visibleLine(s.schema), String(s.tasks), String(s.contexts)]), c.bold) : ['No schema with owner_did columns.'];
}
