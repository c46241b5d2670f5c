import type { ChalkInstance } from 'chalk';
import type { DoctorResult, Finding } from '../../core/fleet/doctor.js';
import type { SchemaRepairPlan } from '../../core/fleet/repair.js';
import type { BackfillResult } from '../../core/fleet/backfillOwner.js';
import { formatTable, plural } from './format.js';

// Pure formatting of the fleet commands' results: data in, lines out.

/** One finding on one line: severity, schema, object, what differs. */
export function formatFinding(f: Omit<Finding, 'fix'>, c: ChalkInstance): string {
  const severity = f.severity === 'error' ? c.red('error  ') : c.yellow('warning');
  return `${severity}  ${f.schema}  ${f.object}: ${f.message}${f.repairable ? '' : c.dim(' (not repaired automatically)')}`;
}

export function formatDoctor(r: DoctorResult, c: ChalkInstance): string[] {
  if (r.schemas.length === 0) return ['No schema holds Bindu tables.'];
  return r.schemas.flatMap((s) => (s.findings.length ? s.findings.map((f) => formatFinding(f, c)) : [`${c.green('ok     ')}  ${s.schema}  (${s.layout}): as ${s.reference} makes it`]));
}

export function doctorSummary(r: DoctorResult): string {
  const dirty = r.schemas.filter((s) => s.findings.length).length;
  return `${plural(r.schemas.length, 'schema')} checked: ${plural(r.errors, 'error')}, ${plural(r.warnings, 'warning')} in ${plural(dirty, 'schema')}`;
}

/** --dry-run: the SQL repair would run, schema by schema, as a script a person could read or run. */
export function formatRepairSql(plans: readonly SchemaRepairPlan[], lockTimeoutSeconds: number): string[] {
  return plans.flatMap((p) => {
    const left = p.left.map((f) => `-- not repaired (${f.severity}): ${f.object}: ${f.message}`);
    if (p.statements.length === 0) return [`-- ${p.schema}: nothing to repair`, ...left];
    const inTx = p.statements.filter((s) => s.transactional);
    const outside = p.statements.filter((s) => !s.transactional);
    return [
      `-- ${p.schema} (${p.layout}): ${plural(p.fixes.length, 'fix', 'fixes')}`,
      ...(inTx.length ? ['begin;', `set local lock_timeout = '${lockTimeoutSeconds}s';`, ...inTx.map((s) => `${s.sql};`), 'commit;'] : []),
      ...outside.map((s) => `${s.sql};`),
      ...left,
    ];
  });
}

export function formatBackfill(r: BackfillResult, c: ChalkInstance): string[] {
  const head = r.dry_run ? ['SCHEMA', 'TASKS TO SET', 'CONTEXTS TO SET'] : ['SCHEMA', 'TASKS SET', 'CONTEXTS SET'];
  return r.schemas.length ? formatTable(head, r.schemas.map((s) => [s.schema, String(s.tasks), String(s.contexts)]), c.bold) : ['No schema with owner_did columns.'];
}
