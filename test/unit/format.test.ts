import { describe, expect, test } from '@jest/globals';
import { shellLine } from '../../src/cli/ui/format.js';

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
