import { describe, expect, test } from '@jest/globals';
import { Chalk } from 'chalk';
import { parseExportFormat, parseFormat, parseLimit, parseOwner, parsePaymentStatuses, parseRating, parseStatuses, parseTime, parseUuid } from '../../src/core/inspectInput.js';
import { BINDU_DB_LAYOUT } from '../../src/db/layouts/ours.js';
import { BINDU_SERVER_LAYOUT } from '../../src/db/layouts/server.js';
import { maskSecrets } from '../../src/core/inspect.js';
import { decodeCursor, encodeCursor } from '../../src/db/inspect/keyset.js';
import { positional } from '../../src/db/sqlRunner.js';
import { bar, describePart, formatTimeline, toCsv, toJsonLines } from '../../src/cli/ui/inspectFormat.js';
import { UsageError } from '../../src/errors.js';

const usage = (fn: () => unknown): UsageError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
};

describe('parseUuid', () => {
  test.each([
    ['3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01', '3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01'],
    ['3F2A1C9E-0B4D-1E8A-9B1C-2D3E4F5A6B01', '3f2a1c9e-0b4d-1e8a-9b1c-2d3e4f5a6b01'], // version 1, upper case
    ['01a216d9-0ce3-023d-fa64-03b9c6f24a26', '01a216d9-0ce3-023d-fa64-03b9c6f24a26'], // version digit 0, odd variant
    ['c0ffee00-0000-f000-0000-000000000001', 'c0ffee00-0000-f000-0000-000000000001'],
  ])('accepts %s whatever its version digit', (input, expected) => expect(parseUuid(input, 'id')).toBe(expected));

  test.each(['', 'abc', '3f2a1c9e0b4d4e8a9b1c2d3e4f5a6b01', '3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b0', '3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b0g', "x' or '1'='1", "'; drop table tasks; --"])(
    'rejects %j with a usage error showing the form',
    (input) => expect(usage(() => parseUuid(input, '--context')).hint).toMatch(/8-4-4-4-12/),
  );
});

describe('parseStatuses', () => {
  test('one, several, spaces, duplicates, dashes', () => {
    expect(parseStatuses('failed')).toEqual(['failed']);
    expect(parseStatuses('failed, running,failed')).toEqual(['failed', 'running']);
    expect(parseStatuses('input-required')).toEqual(['input_required']);
  });
  test.each([
    ['submitted', ['pending']],
    ['working,running', ['running']],
    ['input-required', ['input_required']],
    ['auth-required,auth_required', ['auth_required']],
    ['Canceled,cancelled', ['canceled']],
    ['rejected,completed,failed', ['rejected', 'completed', 'failed']],
  ])('the Bindu server vocabulary maps onto ours: %s', (input, expected) => expect(parseStatuses(input)).toEqual(expected));
  test('the layouts map statuses both ways', () => {
    const pairs: Array<[string, string]> = [['pending', 'submitted'], ['running', 'working'], ['input_required', 'input-required'], ['auth_required', 'auth-required'], ['completed', 'completed'], ['failed', 'failed'], ['canceled', 'canceled'], ['rejected', 'rejected']];
    for (const [ours, theirs] of pairs) {
      expect(BINDU_SERVER_LAYOUT.storedStatuses(ours as never)).toEqual([theirs]);
      expect(BINDU_SERVER_LAYOUT.normalizeStatus(theirs)).toBe(ours);
    }
    expect(BINDU_SERVER_LAYOUT.normalizeStatus('paused')).toBe('paused'); // free text passes through
    expect(BINDU_DB_LAYOUT.statuses).toEqual(['pending', 'running', 'completed', 'failed', 'input_required']);
    expect(BINDU_DB_LAYOUT.storedStatuses('failed')).toEqual(['failed']);
  });
  test.each(['done', 'failed,nope', ',', 'failed,,completed', 'failed,', ' ,failed', "failed'; drop table tasks; --"])('rejects %j naming the valid statuses', (input) => {
    const err = usage(() => parseStatuses(input));
    expect(`${err.message} ${err.hint}`).toMatch(/pending, running, completed, failed, input_required/);
  });
});

describe('parseOwner and parsePaymentStatuses', () => {
  test('an owner DID is kept as written, trimmed', () => expect(parseOwner(' did:bindu:a@b.c:agent:1 ')).toBe('did:bindu:a@b.c:agent:1'));
  test.each(['', '   ', 'x'.repeat(256)])('rejects owner %j', (input) => void usage(() => parseOwner(input)));
  test('payment statuses: several, lower-cased, deduplicated', () =>
    expect(parsePaymentStatuses('payment-failed, PAYMENT-ORPHANED,payment-failed')).toEqual(['payment-failed', 'payment-orphaned']));
  test.each([',', 'payment-failed,,payment-orphaned', "x' or '1'='1", 'a b'])('rejects payment status %j with examples', (input) => expect(usage(() => parsePaymentStatuses(input)).hint).toMatch(/payment-failed/));
});

describe('parseLimit', () => {
  test('default and values', () => {
    expect(parseLimit(undefined, 20)).toBe(20);
    expect(parseLimit('1', 20)).toBe(1);
    expect(parseLimit('10000', 20)).toBe(10000);
  });
  test.each(['0', '-1', '-5', '1.5', 'abc', '1e3', '', '10001', '99999999999999999999'])('rejects %j', (v) => {
    expect(usage(() => parseLimit(v, 20)).message).toMatch(/--limit must be a whole number from 1/);
  });
});

describe('parseRating', () => {
  test('1 to 5 only', () => {
    expect(parseRating('5', '--rating')).toBe(5);
    for (const v of ['0', '6', '-1', '2.5', 'x']) usage(() => parseRating(v, '--rating'));
  });
});

describe('parseTime', () => {
  const now = new Date('2025-06-14T12:00:00Z');
  test.each([
    ['30m', '2025-06-14T11:30:00.000Z'],
    ['24h', '2025-06-13T12:00:00.000Z'],
    ['7d', '2025-06-07T12:00:00.000Z'],
    ['2w', '2025-05-31T12:00:00.000Z'],
    ['2025-06-01', '2025-06-01T00:00:00.000Z'],
    ['2025-06-01T09:30:00Z', '2025-06-01T09:30:00.000Z'],
    ['2025-06-01T09:30:00.250+02:00', '2025-06-01T07:30:00.250Z'],
    ['2025-06-01 09:30Z', '2025-06-01T09:30:00.000Z'],
  ])('%s', (input, iso) => expect(parseTime(input, '--since', now).toISOString()).toBe(iso));
  test.each(['yesterday', '7 days', '-7d', '2025-13-45', '2025-02-30x', '', '1y', "2025-06-01'; drop table tasks; --"])('rejects %j', (input) => {
    expect(usage(() => parseTime(input, '--since', now)).hint).toMatch(/30m, 24h, 7d/);
  });
});

describe('parseTime: dates that do not exist and times out of range', () => {
  const now = new Date('2025-06-14T12:00:00Z');
  test.each(['2025-02-30', '2025-02-29', '2024-02-30T10:00Z', '2025-04-31', '2025-06-14T24:00:00Z', '2025-06-14T10:60Z', '2025-06-14T10:00:61Z', '0000-01-01', '99999999d', '99999999999999999999999d', '2000000w'])(
    'rejects %j as a usage error',
    (input) => expect(usage(() => parseTime(input, '--since', now)).message).toMatch(/^--since: /),
  );
  test('accepts a leap day and a long but reachable duration', () => {
    expect(parseTime('2024-02-29', '--since', now).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(parseTime('3650d', '--since', now).getUTCFullYear()).toBe(2015);
  });
});

describe('parseExportFormat: tasks export streams JSON Lines only', () => {
  test('jsonl by default or by name; --json and other formats point to --format jsonl', () => {
    expect(parseExportFormat(undefined, false)).toBe('jsonl');
    expect(parseExportFormat('JSONL', false)).toBe('jsonl');
    expect(usage(() => parseExportFormat(undefined, true)).hint).toMatch(/--format jsonl/);
    expect(usage(() => parseExportFormat('csv', false)).hint).toMatch(/--format jsonl/);
  });
});

describe('parseFormat', () => {
  test('table by default, json with --json, stream formats', () => {
    expect(parseFormat(undefined, false)).toBe('table');
    expect(parseFormat(undefined, true)).toBe('json');
    expect(parseFormat('CSV', false)).toBe('csv');
    expect(usage(() => parseFormat('xml', false)).hint).toMatch(/table, json, jsonl, csv/);
    usage(() => parseFormat('csv', true));
  });
});

describe('cursors', () => {
  const key = { ts: '2025-06-14T09:30:00.123456Z', id: '3f2a1c9e-0b4d-4e8a-9b1c-2d3e4f5a6b01' };
  test('round-trip with microseconds', () => expect(decodeCursor('tasks', encodeCursor('tasks', key))).toEqual(key));
  test('a cursor of another list is refused, naming the right one', () => {
    expect(usage(() => decodeCursor('feedback', encodeCursor('tasks', key))).message).toMatch(/"tasks list", not "feedback list"/);
  });
  test('a cursor carries the filters it was listed with: the same scope goes on, another is refused', () => {
    expect(decodeCursor('tasks', encodeCursor('tasks', key, 'abc'), 'abc')).toEqual(key);
    expect(usage(() => decodeCursor('tasks', encodeCursor('tasks', key, 'abc'), 'xyz')).message).toMatch(/printed for other filters/);
    expect(usage(() => decodeCursor('tasks', encodeCursor('tasks', key, 'abc'))).message).toMatch(/printed for other filters/);
    expect(usage(() => decodeCursor('tasks', encodeCursor('tasks', key), 'abc')).message).toMatch(/printed for other filters/);
  });
  test.each(['2025-02-30T09:30:00.123456Z', '2025-13-01T09:30:00Z', '0000-06-14T09:30:00Z', '2025-06-14T25:30:00Z'])('a cursor edited to the impossible time %s is refused', (ts) => {
    expect(usage(() => decodeCursor('tasks', encodeCursor('tasks', { ...key, ts }))).message).toMatch(/invalid --after cursor/);
  });
  test.each(['', 'garbage', 'eyJmb28iOjF9', `${encodeCursor('tasks', key)}x`, Buffer.from('{"k":"tasks","t":"x","i":"y"}').toString('base64url'), "'; drop table tasks; --"])(
    'garbled %j is a usage error',
    (c) => expect(usage(() => decodeCursor('tasks', c)).message).toMatch(/invalid --after cursor/),
  );
});

describe('maskSecrets', () => {
  test('masks secret-looking keys at any depth, keeps the rest', () => {
    const config = {
      url: 'https://hooks.example.com/x',
      token: 'whsec_abc',
      headers: { Authorization: 'Bearer xyz', 'X-Api-Key': 'k1', accept: 'json' },
      authentication: { schemes: ['Bearer'], credentials: 'c2VjcmV0' },
      nested: [{ client_secret: 's', password: 'p', api_key: 'a', name: 'n' }],
      authorization: { user: 'u', pass: 'p' },
    };
    expect(maskSecrets(config)).toEqual({
      url: 'https://hooks.example.com/x',
      token: '***',
      headers: { Authorization: '***', 'X-Api-Key': '***', accept: 'json' },
      authentication: { schemes: ['Bearer'], credentials: '***' },
      nested: [{ client_secret: '***', password: '***', api_key: '***', name: 'n' }],
      authorization: { user: '***', pass: '***' },
    });
  });
  test.each([
    ['https://hooks.example.com/x?token=t0k&api_key=k3y&keep=1', 'https://hooks.example.com/x?token=***&api_key=***&keep=1'],
    ['https://hooks.example.com/x?X-Amz-Signature=abc&X-Amz-Credential=cred&X-Amz-Date=20261201', 'https://hooks.example.com/x?X-Amz-Signature=***&X-Amz-Credential=***&X-Amz-Date=20261201'],
    ['https://bob:hunter2@hooks.example.com/x?secret=s&password=p&auth=a&id=7', 'https://***@hooks.example.com/x?secret=***&password=***&auth=***&id=7'],
    ['https://hooks.example.com/cb#access_token=tok&state=s', 'https://hooks.example.com/cb#access_token=***&state=s'],
    ['https://hooks.example.com/plain', 'https://hooks.example.com/plain'],
  ])('masks userinfo and secret-named parameters of a URL: %s', (url, shown) => {
    expect(maskSecrets({ url, nested: [{ callback: url }] })).toEqual({ url: shown, nested: [{ callback: shown }] });
  });
});

describe('formatting', () => {
  const c = new Chalk({ level: 0 });
  test('CSV quotes commas, quotes, newlines and JSON', () => {
    expect(toCsv([{ a: 'x,y', b: 'say "hi"', c: 'l1\nl2', d: { k: 1 }, e: null, f: new Date('2025-06-14T00:00:00Z') }])).toEqual([
      'a,b,c,d,e,f',
      '"x,y","say ""hi""","l1\nl2","{""k"":1}",,2025-06-14T00:00:00.000Z',
    ]);
  });
  test('JSON Lines: one parseable document per line', () => {
    const lines = toJsonLines([{ a: 'l1\nl2', at: new Date('2025-06-14T00:00:00Z') }, { a: 2 }]);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0])).toEqual({ a: 'l1\nl2', at: '2025-06-14T00:00:00.000Z' });
  });
  test('timeline shows role, time and each part; file and data parts summarised', () => {
    const lines = formatTimeline(
      [
        { role: 'user', metadata: { timestamp: '2025-06-14T09:30:00Z' }, parts: [{ kind: 'text', text: 'hello' }, { kind: 'file', file: { name: 'a.pdf', mime_type: 'application/pdf' } }] },
        { role: 'agent', parts: [{ kind: 'data', data: { rows: 3, cols: 2 } }] },
      ],
      c,
    );
    expect(lines).toEqual(['  2025-06-14T09:30:00Z user', '      hello', '      [file a.pdf application/pdf]', '  agent', '      [data {rows, cols}]']);
    expect(describePart({ kind: 'video' } as never)).toBe('[video]');
  });
  test('a text part whose text is not a string (any JSON an agent wrote) is shown as its JSON, never a crash', () => {
    const c = new Chalk({ level: 0 });
    const history = [{ role: 'agent', parts: [{ kind: 'text', text: 123 }, { kind: 'text', text: { a: 1 } }, { kind: 'text', text: null }] }];
    expect(formatTimeline(history as never, c)).toEqual(['  agent', '      123', '      {"a":1}', '      ']);
  });
  test('bars scale to the largest value', () => {
    expect(bar(10, 10, 4)).toBe('████');
    expect(bar(5, 10, 4)).toBe('██');
    expect(bar(0, 10, 4)).toBe('');
    expect(bar(1, 1000, 4)).toBe('▏');
  });
  test('positional placeholders keep escaped question marks', () => {
    expect(positional('a = ? and b = ? and c \\? d')).toBe('a = $1 and b = $2 and c ? d');
  });
});
