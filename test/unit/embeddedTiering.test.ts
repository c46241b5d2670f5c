import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { optimisedCompile } from '../../src/db/connect.js';

// PGlite's WebAssembly is optimised only for bulk work on much data: on small data the baseline
// compiler is as fast and costs a third of the CPU.
describe('when the embedded database gets PGlite optimised', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tiering-'));
  fs.writeFileSync(path.join(dir, 'small'), Buffer.alloc(1024));

  test('bulk work on a small data directory does not', () => {
    expect(optimisedCompile(dir, { bulk: true })).toBe(false);
    expect(optimisedCompile(dir, { bulk: true, work: 1000 * 3000 })).toBe(false);
  });

  test('bulk work bringing in much data does, a short command never', () => {
    expect(optimisedCompile(dir, { bulk: true, work: 1_000_000 * 3000 })).toBe(true);
    expect(optimisedCompile(dir, { bulk: true, work: 2 ** 30 })).toBe(true);
    expect(optimisedCompile(dir, { work: 2 ** 30 })).toBe(false);
  });

  test('a large data directory counts, in its subdirectories too', () => {
    fs.mkdirSync(path.join(dir, 'base', '5'), { recursive: true });
    const fd = fs.openSync(path.join(dir, 'base', '5', '16384'), 'w');
    fs.ftruncateSync(fd, 200 * 2 ** 20); // sparse: its size is what counts
    fs.closeSync(fd);
    expect(optimisedCompile(dir, { bulk: true })).toBe(true);
    expect(optimisedCompile(dir, { bulk: false })).toBe(false);
  });

  test('a directory not made yet holds nothing', () => {
    expect(optimisedCompile(path.join(dir, 'missing'), { bulk: true })).toBe(false);
  });
});
