import { execFileSync } from 'node:child_process';
import { constants as bufferConstants } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, describe, expect, test } from '@jest/globals';
import { parseContextPrune, parseTaskPrune } from '../../src/core/retention/prune.js';
import { parseFail } from '../../src/core/retention/fail.js';
import { parseOlderThan } from '../../src/core/retention/batches.js';
import { archiveProblem, openJsonlArchive } from '../../src/lib/jsonlArchive.js';
import { describeCounts, formatAge, formatStuckList } from '../../src/cli/ui/retentionFormat.js';
import { Chalk } from 'chalk';
import { UsageError } from '../../src/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bindu-retention-unit-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('retention flags', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  test.each([
    ['30d', '2026-11-01T12:00:00.000Z'],
    ['24h', '2026-11-30T12:00:00.000Z'],
    ['90m', '2026-12-01T10:30:00.000Z'],
    ['2026-06-01', '2026-06-01T00:00:00.000Z'],
  ])('--older-than %s', (value, cutoff) => {
    expect(parseOlderThan(value, '--older-than', now).toISOString()).toBe(cutoff);
  });

  test.each([
    [{ olderThan: 'yesterday' }, /cannot read "yesterday" as a time/],
    [{ olderThan: '2999-01-01' }, /lies in the future/],
    [{ olderThan: '7d', status: 'pending' }, /live status/],
    [{ olderThan: '7d', status: 'completed,working' }, /--status running: a live status/],
    [{ olderThan: '7d', status: 'done' }, /unknown status "done"/],
    [{ olderThan: '7d', batchSize: '0' }, /--batch-size must be a whole number from 1 to 100000/],
    [{ olderThan: '7d', archive: 'out.csv' }, /the archive is JSON Lines/],
  ])('tasks prune %j is a usage error', (input, message) => {
    expect(() => parseTaskPrune(input)).toThrow(UsageError);
    expect(() => parseTaskPrune(input)).toThrow(message);
  });

  test('tasks prune defaults: every finished status, batches of 1000, no archive', () => {
    expect(parseTaskPrune({ olderThan: '7d', status: 'cancelled,failed' })).toMatchObject({ statuses: ['canceled', 'failed'], batchSize: 1000, archive: null });
    expect(parseTaskPrune({ olderThan: '7d', archive: 'a.jsonl.gz' })).toMatchObject({ statuses: ['completed', 'failed', 'canceled', 'rejected'], archive: 'a.jsonl.gz' });
  });

  test('contexts prune demands --empty; tasks fail demands ids or --stuck, not both', () => {
    expect(() => parseContextPrune({ olderThan: '7d' })).toThrow(/add --empty/);
    expect(() => parseFail({ ids: [] })).toThrow(/which tasks/);
    expect(() => parseFail({ ids: ['3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01'], stuck: '2h' })).toThrow(/not both/);
    expect(() => parseFail({ ids: [], stuck: '2h', reason: '  ' })).toThrow(/--reason/);
    expect(parseFail({ ids: [], stuck: '2h' }).reason).toMatch(/no progress for 2h/);
    expect(parseFail({ ids: ['3F2A1C9E-0B4D-4E8A-9B1C-2D3E4F5A6B01', '3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01'] }).ids).toEqual(['3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01']);
  });

  test.each([[0, '0s'], [59, '59s'], [61, '1m 1s'], [9000, '2h 30m'], [90061, '1d 1h']])('formatAge(%d) = %s', (s, text) => {
    expect(formatAge(s)).toBe(text);
  });
});

test('counts read with thousands separators, every one of them', () => {
  expect(describeCounts({ tasks: 200_000, task_feedback: 66_667, webhook_configs: 28_572 })).toBe('200,000 tasks (66,667 feedback, 28,572 webhook configs)');
  expect(describeCounts({ tasks: 1, task_feedback: 0, webhook_configs: 1 })).toBe('1 task (0 feedback, 1 webhook config)');
});

describe('JSON Lines archive', () => {
  /** One run: opens the archive, appends the lines as one batch, closes it. */
  const appendRun = async (file: string, lines: string[]) => {
    const archive = await openJsonlArchive(file);
    await archive.append(lines);
    await archive.close();
  };
  /** The archive's documents, gunzipped when it is a .gz. */
  const documents = (file: string) => {
    const raw = fs.readFileSync(file);
    return (/\.gz$/i.test(file) ? zlib.gunzipSync(raw) : raw).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  };
  test.each(['plain.jsonl', 'packed.jsonl.gz'])('%s: whole after every append, and across reopenings', async (name) => {
    const file = path.join(tmp, name);
    const first = await openJsonlArchive(file);
    await first.append(['{"n":1}', '{"n":2}']);
    expect(documents(file)).toEqual([{ n: 1 }, { n: 2 }]); // readable while it grows
    await first.append([]);
    await first.append(['{"n":3}']);
    await first.close();
    await appendRun(file, ['{"n":4}']); // a later run appends
    expect(documents(file)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  test('an archive that cannot be written is found out before anything runs', () => {
    expect(archiveProblem(path.join(tmp, 'missing-dir', 'a.jsonl'))).toMatch(/cannot write into .*missing-dir: ENOENT/);
    expect(archiveProblem(tmp)).toMatch(/is a directory/);
    expect(archiveProblem(path.join(tmp, 'new.jsonl'))).toBeNull();
  });

  test('a path that is not an archive of its kind is refused: a FIFO, a device, a link to another file, a plain file named .gz', async () => {
    const fifo = path.join(tmp, 'fifo.jsonl');
    execFileSync('mkfifo', [fifo]);
    expect(archiveProblem(fifo)).toMatch(/fifo\.jsonl is not a regular file/);
    const device = path.join(tmp, 'null.jsonl');
    fs.symlinkSync('/dev/null', device);
    expect(archiveProblem(device)).toMatch(/is not a regular file/);
    // A link planted where the archive will go, to a file of another kind (/etc/passwd, say).
    const passwd = path.join(tmp, 'passwd');
    fs.writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\n');
    const planted = path.join(tmp, 'planted.jsonl');
    fs.symlinkSync(passwd, planted);
    expect(archiveProblem(planted)).toMatch(/planted\.jsonl holds something other than a JSON Lines archive/);
    const plain = path.join(tmp, 'was-plain.jsonl');
    await appendRun(plain, ['{"n":1}']);
    expect(archiveProblem(plain)).toBeNull();
    const misnamed = path.join(tmp, 'misnamed.jsonl.gz');
    fs.copyFileSync(plain, misnamed);
    expect(archiveProblem(misnamed)).toMatch(/holds something other than a gzip-compressed JSON Lines archive/);
    fs.writeFileSync(path.join(tmp, 'empty.jsonl.gz'), '');
    expect(archiveProblem(path.join(tmp, 'empty.jsonl.gz'))).toBeNull();
  });

  // Two prunes run at once (a cron job overlapping the last one) with the same --archive: their
  // batches' writes interleaved inside each other's gzip members, and a failed append's cut-off
  // could take the other run's lines with it.
  test('one run at a time appends to an archive: a second one is refused until the first closes it', async () => {
    const file = path.join(tmp, 'shared.jsonl.gz');
    const first = await openJsonlArchive(file);
    await expect(openJsonlArchive(file)).rejects.toThrow(/locked by pid \d+/);
    await first.close();
    await appendRun(file, ['{"n":1}']);
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('shared.'))).toEqual(['shared.jsonl.gz']);
  });

  // A run killed (or a machine losing power) in the middle of an append leaves part of a line;
  // that batch was never deleted, so its tasks are archived again by the next run.
  test('a part-written last line is cut off before the next run appends: every line reads as JSON', async () => {
    const file = path.join(tmp, 'torn.jsonl');
    fs.writeFileSync(file, '{"n":1}\n{"n":2}\n{"n":3,"h":"ab');
    await appendRun(file, ['{"n":3}']);
    expect(documents(file)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
  });

  // A gzip member cut short hides every member after it from zcat and gunzip ("unexpected end of
  // file"). A run killed while appending one leaves its start marked in <archive>.appending.
  test.each(['torn.jsonl.gz', 'torn-batch.jsonl'])('%s: what a run killed in the middle of an append wrote is cut off by the next run', async (name) => {
    const file = path.join(tmp, name);
    await appendRun(file, ['{"n":1}', '{"n":2}']);
    // The killed run: its lock is gone with it; its marker and part of its batch are left.
    const size = fs.statSync(file).size;
    const batch = ['{"n":3}', '{"n":4}', '{"n":5,"h":"'.padEnd(5000, 'x') + '"}'].join('\n') + '\n';
    const bytes = name.endsWith('.gz') ? zlib.gzipSync(batch) : Buffer.from(batch);
    fs.writeFileSync(`${file}.appending`, String(size));
    fs.appendFileSync(file, bytes.subarray(0, Math.floor(bytes.length * 0.8)));
    await appendRun(file, ['{"n":3}']);
    expect(documents(file)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(fs.existsSync(`${file}.appending`)).toBe(false);
  });

  test('an archive removed after a run was killed appending to it starts anew: the marker left behind does not block it', async () => {
    const file = path.join(tmp, 'removed.jsonl.gz');
    fs.writeFileSync(`${file}.appending`, '123456');
    await appendRun(file, ['{"n":1}']);
    expect(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')).toBe('{"n":1}\n');
    expect(fs.existsSync(`${file}.appending`)).toBe(false);
  });

  test('a whole last document without its newline (another tool wrote it) is kept, and the next line starts after it', async () => {
    const file = path.join(tmp, 'no-newline.jsonl');
    fs.writeFileSync(file, '{"n":1}\n{"n":2,"note":"a}"}');
    await appendRun(file, ['{"n":3}']);
    expect(documents(file)).toEqual([{ n: 1 }, { n: 2, note: 'a}' }, { n: 3 }]);
  });

  test('.JSONL.GZ in capitals is compressed too', async () => {
    const file = path.join(tmp, 'CAPS.JSONL.GZ');
    await appendRun(file, ['{"n":1}']);
    expect(zlib.gunzipSync(fs.readFileSync(file)).toString('utf8')).toBe('{"n":1}\n');
  });

  // A batch of tasks with histories of tens of megabytes each: together longer than the longest string.
  test('a batch longer than the longest string V8 can hold is appended whole', async () => {
    const file = path.join(tmp, 'huge.jsonl');
    const half = Math.ceil(bufferConstants.MAX_STRING_LENGTH / 2);
    const line = (n: number) => `{"n":${n},"h":"${'x'.repeat(half)}"}`;
    const archive = await openJsonlArchive(file);
    try {
      await archive.append([line(1), line(2)]);
    } finally {
      await archive.close();
    }
    expect(fs.statSync(file).size).toBe(2 * (line(1).length + 1));
    fs.rmSync(file);
  }, 60_000);
});

test("tasks stuck's table shows the status as tasks list does: ours, with the server's word beside it where it differs", () => {
  const row = { task_id: 't1', context_id: 'c0ffee00-0000-4000-8000-000000000001', created_at: '2026-12-01T10:00:00Z', updated_at: '2026-12-01T10:00:00Z', message_count: 2, age_seconds: 9000 };
  const lines = formatStuckList([{ ...row, status: 'running', state: 'working' }, { ...row, task_id: 't2', status: 'input_required', state: null }] as never, new Chalk({ level: 0 }));
  expect(lines[1]).toMatch(/^t1 +running \(working\) +2h 30m/);
  expect(lines[2]).toMatch(/^t2 +input_required +2h 30m/);
});
