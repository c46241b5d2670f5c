import { describe, expect, test } from '@jest/globals';
import { Chalk } from 'chalk';
import { formatTable, plural, visible, visibleData, visibleLine, visibleWidth } from '../../src/cli/ui/format.js';
import { shellLine } from '../../src/lib/words.js';
import { formatContextDetail, formatContextList, formatFeedbackList, formatSchemaStats, formatStats, formatTaskDetail, formatTaskList } from '../../src/cli/ui/inspectFormat.js';
import { formatBackfill, formatDoctor, formatRepairSql } from '../../src/cli/ui/fleetFormat.js';
import { formatContextPrunePlan, formatFailPlan, formatTaskPrunePlan } from '../../src/cli/ui/retentionFormat.js';
import { showControls } from '../../src/studio/views/html.js';

describe('shellLine: a command as it would be typed', () => {
  test.each([
    [['pg_dump', '--format=p', '--schema=public'], 'pg_dump --format=p --schema=public'],
    [['pg_dump', '--schema=did:bindu:a@b.c:x:1'], 'pg_dump --schema=did:bindu:a@b.c:x:1'],
    [['/opt/pg 16/bin/pg_dump'], "'/opt/pg 16/bin/pg_dump'"],
    [['--schema=it\'s'], "'--schema=it'\\''s'"],
    [['$HOME', 'a;b', ''], "'$HOME' 'a;b' ''"],
  ])('%j', (words, line) => {
    expect(shellLine(words)).toBe(line);
  });
});

describe('text from the database is shown with its control characters visible', () => {
  const hostile = 'ok\u001b]0;TITLE\u0007\u001b[2J\rgone\u009b31m\u202eevil\u0000';
  const c = new Chalk({ level: 0 });
  const task = {
    task_id: 'c0ffee00-0000-4000-8000-000000000001',
    context_id: 'c0ffee00-0000-4000-8000-0000000000c1',
    status: 'failed',
    state: `fail\u001b[5med`,
    owner_did: `did:x\u001b[2J\nStatus    completed`,
    created_at: new Date('2026-12-01T06:58:34.251Z'),
    updated_at: new Date('2026-12-01T06:58:34.251Z'),
    message_count: 1,
    failure_reason: hostile,
    payment_status: null,
  };
  const controls = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/;

  test('visible escapes C0, C1, DEL and bidi controls, keeps newlines; visibleLine shows them too', () => {
    expect(visible(hostile)).toBe('ok\\u001b]0;TITLE\\u0007\\u001b[2J\\u000dgone\\u009b31m\\u202eevil\\u0000');
    expect(visible('a\nb')).toBe('a\nb');
    // Zero-width characters and the byte-order mark hide text; the studio shows the same escapes.
    expect(visible('pay\u200bpal\ufeff')).toBe('pay\\u200bpal\\ufeff');
    expect(visible('x\u001by')).toBe(showControls('x\u001by'));
    expect(visibleLine('a\nb\tc')).toBe('a\\nb\\u0009c');
    expect(visibleData({ a: [hostile], d: task.created_at, n: 3 })).toEqual({ a: [visible(hostile)], d: task.created_at, n: 3 });
  });

  test('tasks list and show, contexts, feedback, stats print no control character but newlines', () => {
    const history = [{ role: 'agent\u001b[2J', parts: [{ kind: 'text', text: `line one\n${hostile}` }], metadata: { timestamp: 'x\u001b[2J' } }];
    const detail = { ...task, history, artifacts: [{ name: hostile }], metadata: { title: hostile }, feedback: [{ feedback_id: '1', task_id: task.task_id, rating: 1, feedback: hostile, metadata: {}, created_at: task.created_at }], webhook_config: { task_id: task.task_id, config: { url: `https://h/${hostile}` } } };
    const context = { context_id: task.context_id, created_at: task.created_at, updated_at: task.created_at, metadata: { title: hostile }, messages: history, tasks: [task], tasks_next: null, owner_did: task.owner_did };
    const lines = [
      ...formatTaskList([task] as never, c),
      ...formatTaskDetail(detail as never, c),
      ...formatContextList([{ ...context, task_count: 1, message_count: 1, last_activity_at: task.created_at }] as never, c),
      ...formatContextDetail(context as never, c),
      ...formatFeedbackList(detail.feedback as never, c),
      ...formatStats({ tasks_by_status: { [hostile]: 1 }, failure_rate: null, tasks_per_day: [], feedback: { count: 0, by_rating: {}, average_rating: null }, table_sizes: { [hostile]: { rows: 1, bytes: 1 } } } as never, c),
    ];
    for (const line of lines) expect(line).not.toMatch(controls);
    expect(lines.join('\n')).toContain('\\u001b]0;TITLE\\u0007');
    // The owner's newline cannot forge a line of its own.
    expect(lines.some((l) => /^Status {4}completed/.test(l))).toBe(false);
  });

  test('fleet commands print a schema name (anyone with CREATE on the database chooses it) with its controls visible', () => {
    // A newline in the name must not end repair's `-- schema` comment and put a statement of its own in the script.
    const schema = `agent\u001b]0;TITLE\u0007\ndrop table public.tasks; --`;
    const finding = { schema, table: 'tasks', object: `tasks.x\u001b[2J`, kind: 'missing_column', severity: 'error', message: 'missing column', expected: null, found: null, repairable: true };
    const lines = [
      ...formatDoctor({ schemas: [{ schema, layout: 'bindu-server', reference: 'r', findings: [finding] }, { schema, layout: 'bindu-server', reference: 'r', findings: [] }], errors: 1, warnings: 0 } as never, c),
      ...formatRepairSql([{ schema, layout: 'bindu-server', fixes: [finding], left: [finding], statements: [] }, { schema, layout: 'bindu-server', fixes: [finding], left: [], statements: [{ sql: `alter table "${schema}"."tasks" add column "x" text`, transactional: true }] }] as never, 5),
      ...formatSchemaStats([{ schema, layout: 'bindu-server', tasks: 1, tasks_by_status: { failed: 1 }, failure_rate: 1, last_activity: null }], c),
      ...formatBackfill({ owner_did: 'did:x', dry_run: true, schemas: [{ schema, tasks: 1, contexts: 1 }], skipped: [] } as never, c),
      ...formatTaskPrunePlan({ cutoff: new Date(0), targets: [{ source: { schema }, criteria: { stored: ['failed'] }, counts: { tasks: 1, task_feedback: 0, webhook_configs: 0 } }] } as never, c),
      ...formatContextPrunePlan({ cutoff: new Date(0), targets: [{ source: { schema }, contexts: 1 }] } as never, c),
      ...formatFailPlan({ cutoff: new Date(0), reason: 'stuck', total: { not_found: 0 }, targets: [{ source: { schema }, toFail: 1, finished: 0 }] } as never, c),
    ].flatMap((l) => l.split('\n'));
    for (const line of lines) expect(line).not.toMatch(controls);
    const comments = formatRepairSql([{ schema, layout: 'bindu-server', fixes: [], left: [finding], statements: [] }] as never, 5);
    expect(comments).toHaveLength(2);
    for (const line of comments) expect(line).toMatch(/^-- [^\n]*$/);
  });
});

describe('tables fit the terminal: the widest text columns are cut first', () => {
  const c = new Chalk({ level: 1 });
  const rows = [
    ['c0ffee00-0000-4000-8000-000000000001', c.red('failed'), 'a rather long owner did:bindu:acme', c.red('Task execution failed: the upstream agent did not answer within 300 s')],
    ['c0ffee00-0000-4000-8000-000000000002', 'completed', 'short', ''],
  ];
  const head = ['TASK', 'STATUS', 'OWNER', 'FAILURE REASON'];

  test.each([70, 80, 100])('at %i columns every line fits; ids are whole (the text columns gave way); colour is closed', (width) => {
    const lines = formatTable(head, rows, c.bold, { width, shrink: [2, 3] });
    for (const line of lines) expect(visibleWidth(line)).toBeLessThanOrEqual(width);
    expect(lines[1]).toContain('c0ffee00-0000-4000-8000-000000000001');
    expect(lines[1]).toMatch(/…\u001b\[0m/);
  });

  test('at 40 columns the other columns give way too, so no row wraps', () => {
    for (const line of formatTable(head, rows, c.bold, { width: 40, shrink: [2, 3] })) expect(visibleWidth(line)).toBeLessThanOrEqual(40);
  });

  test('no width (not a terminal): nothing is cut', () => {
    expect(formatTable(head, rows, c.bold, { shrink: [2, 3] })).toEqual(formatTable(head, rows, c.bold));
    expect(formatTable(head, rows, c.bold).join('\n')).toContain('within 300 s');
  });

  test('the stats bars fit too', () => {
    const stats = { tasks_by_status: { failed: 5 }, failure_rate: 1, tasks_per_day: [{ date: '2026-12-01', count: 5 }], feedback: { count: 1, by_rating: { 1: 1 }, average_rating: 1 }, table_sizes: { tasks: { rows: 5, bytes: 100 } } };
    for (const line of formatStats(stats as never, new Chalk({ level: 0 }), 40)) expect(visibleWidth(line)).toBeLessThanOrEqual(40);
    expect(formatStats(stats as never, new Chalk({ level: 0 })).join('\n')).toContain('█'.repeat(40));
  });
});

describe('plural: counts read the same in every summary', () => {
  test.each([
    [1, '1 task'],
    [0, '0 tasks'],
    [40000, '40,000 tasks'],
    [1234567, '1,234,567 tasks'],
  ])('%i', (n, text) => {
    expect(plural(n, 'task')).toBe(text);
  });
});
