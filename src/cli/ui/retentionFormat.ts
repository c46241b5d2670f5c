import type { ChalkInstance } from 'chalk';
import type { ContextPrunePlan, TaskPrunePlan } from '../../core/retention/prune.js';
import type { FailPlan } from '../../core/retention/fail.js';
import type { StuckTaskRow } from '../../core/retention/stuck.js';
import { statusText, withSchema } from './inspectFormat.js';
import { formatTable, formatTime, plural, visibleLine } from './format.js';

// Pure formatting of the retention plans and results: data in, lines out. Schema names come
// from the catalog (anyone who may create a schema picks one): shown with their controls visible.

/** 9000 -> "2h 30m"; the two largest units. */
export function formatAge(seconds: number): string {
  const units: Array<[string, number]> = [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = seconds;
  for (const [unit, size] of units) {
    if (rest >= size || (unit === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}

const n = (v: number) => v.toLocaleString('en-US');

export function formatTaskPrunePlan(plan: TaskPrunePlan, c: ChalkInstance): string[] {
  const rows = plan.targets.map((t) => [visibleLine(t.source.schema), n(t.counts.tasks), n(t.counts.task_feedback), n(t.counts.webhook_configs)]);
  return [
    `Finished tasks (${[...new Set(plan.targets.flatMap((t) => t.criteria.stored))].join(', ')}) last updated before ${formatTime(plan.cutoff)}:`,
    ...formatTable(['SCHEMA', 'TASKS', 'FEEDBACK', 'WEBHOOK CONFIGS'], rows, c.bold).map((l) => `  ${l}`),
  ];
}

export function formatContextPrunePlan(plan: ContextPrunePlan, c: ChalkInstance): string[] {
  const rows = plan.targets.map((t) => [visibleLine(t.source.schema), n(t.contexts)]);
  return [`Contexts with no task, last updated before ${formatTime(plan.cutoff)}:`, ...formatTable(['SCHEMA', 'CONTEXTS'], rows, c.bold).map((l) => `  ${l}`)];
}

export function formatFailPlan(plan: FailPlan, c: ChalkInstance): string[] {
  const rows = plan.targets.map((t) => [visibleLine(t.source.schema), n(t.toFail), ...(plan.cutoff ? [] : [n(t.finished)])]);
  return [
    plan.cutoff ? `Live tasks not updated since ${formatTime(plan.cutoff)}:` : `Tasks named:`,
    ...formatTable(['SCHEMA', 'TO FAIL', ...(plan.cutoff ? [] : ['ALREADY FINISHED'])], rows, c.bold).map((l) => `  ${l}`),
    ...(plan.total.not_found ? [`Not found${plan.targets.length > 1 ? ' in any of these schemas' : ''}: ${n(plan.total.not_found)}`] : []),
    `Reason: ${plan.reason}`,
  ];
}

export function formatStuckList(items: StuckTaskRow[], c: ChalkInstance): string[] {
  if (items.length === 0) return ['No stuck tasks.'];
  const rows = items.map((t) => [t.task_id, statusText(c, t), c.yellow(formatAge(t.age_seconds)), `${t.context_id.slice(0, 8)}…`, formatTime(t.created_at), formatTime(t.updated_at), String(t.message_count)]);
  const [head, cells] = withSchema(['TASK', 'STATUS', 'STUCK FOR', 'CONTEXT', 'CREATED', 'UPDATED', 'MSGS'], rows, items);
  return formatTable(head, cells, c.bold);
}

/** "1,000 tasks (12 feedback, 3 webhook configs)" */
export function describeCounts(d: { tasks: number; task_feedback: number; webhook_configs: number }): string {
  return `${plural(d.tasks, 'task')} (${n(d.task_feedback)} feedback, ${plural(d.webhook_configs, 'webhook config')})`;
}
