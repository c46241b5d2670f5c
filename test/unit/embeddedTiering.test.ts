import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from '@jest/globals';
import { optimiseEmbedded } from '../../src/cli/context.js';

// PGlite's WebAssembly is optimised only for large work: on small data the baseline compiler is
// as fast and costs a third of the CPU.
describe('which embedded commands get PGlite optimised', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tiering-'));
  fs.writeFileSync(path.join(dir, 'small'), Buffer.alloc(1024));

  test('a bulk command on a small data directory is not', () => {
    expect(optimiseEmbedded('backup', dir)).toBe(false);
    expect(optimiseEmbedded('seed generate', dir, 1000 * 3000)).toBe(false);
  });

  test('a bulk command bringing in much data is, a short command never', () => {
    expect(optimiseEmbedded('seed generate', dir, 1_000_000 * 3000)).toBe(true);
    expect(optimiseEmbedded('restore', dir, 2 ** 30)).toBe(true);
    expect(optimiseEmbedded('tasks list', dir, 2 ** 30)).toBe(false);
  });

  test('a large data directory counts, in its subdirectories too', () => {
    fs.mkdirSync(path.join(dir, 'base', '5'), { recursive: true });
    const fd = fs.openSync(path.join(dir, 'base', '5', '16384'), 'w');
    fs.ftruncateSync(fd, 200 * 2 ** 20); // sparse: its size is what counts
    fs.closeSync(fd);
    expect(optimiseEmbedded('stats', dir)).toBe(true);
    expect(optimiseEmbedded('migrate status', dir)).toBe(false);
  });

  test('a directory not made yet holds nothing', () => {
    expect(optimiseEmbedded('backup', path.join(dir, 'missing'))).toBe(false);
  });
});
