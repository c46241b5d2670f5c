import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@jest/globals';
import { repoRoot, runCli } from '../helpers/cli.js';

/** The subcommand names listed under "Commands:" in a help text. */
function subcommands(help: string): string[] {
  const section = help.split(/\nCommands:\n/)[1]?.split(/\n\n/)[0] ?? '';
  return section
    .split('\n')
    .map((line) => /^\s{2}(\S+)/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined && name !== 'help');
}

test('every command has --help with a description and at least one example', async () => {
  const leaves: string[][] = [];
  const visit = async (path: string[]) => {
    const r = await runCli([...path, '--help']);
    expect(r.code).toBe(0);
    const children = subcommands(r.stdout);
    // A leaf, or a command with an action of its own beside its subcommands (backup <file>, backup verify).
    if (children.length === 0 || /^Usage: bindu-db .*<\w+>/.test(r.stdout)) leaves.push(path);
    expect(r.stdout).toMatch(/^Usage: bindu-db /);
    expect(r.stdout).toMatch(/Examples?:\n\s+\$ bindu-db /); // groups too (bindu-db seed --help)
    for (const child of children) await visit([...path, child]);
  };
  await visit([]);
  // Every top-level command is there.
  const names = leaves.map((l) => l.join(' '));
  for (const expected of ['migrate up', 'migrate down', 'migrate history', 'migrate status', 'migrate make', 'migrate unlock', 'seed run', 'backup', 'backup verify', 'restore', 'tasks list', 'tasks show', 'tasks export', 'contexts list', 'contexts show', 'feedback list', 'stats', 'schemas list']) {
    expect(names).toContain(expected);
  }
});

test.each([
  [['--url', 'postgresql://u:p@h/db', 'tasks', '--help'], /Usage: bindu-db tasks[\s\S]*\n\s+list /],
  [['--schema=agent', '--json', 'migrate', '--help'], /Usage: bindu-db migrate[\s\S]*\n\s+up /],
  [['help', 'migrate'], /Usage: bindu-db migrate[\s\S]*\n\s+history /],
  [['--data-dir', 'x', 'backup', '--help'], /Usage: bindu-db backup \[options\] \[command\] <file>[\s\S]*\n\s+verify /],
  [['--pg-bin', '/opt/pg/bin', 'backup', '--help'], /Usage: bindu-db backup \[options\] \[command\] <file>[\s\S]*--pg-bin <dir>/],
  [['--lock-timeout', '5', 'migrate', 'up', '--help'], /Usage: bindu-db migrate up[\s\S]*--lock-timeout <seconds>/],
  [['migrate', 'up', '--lock-timeout', '5', '--help'], /Usage: bindu-db migrate up/],
])('a command after global options is found and fully declared: %j', async (args, shape) => {
  const r = await runCli(args);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(shape);
});

test("package.json's bin runs as a program in a checkout, as `npx bindu-db` runs it", async () => {
  const bin = path.join(repoRoot, (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['bindu-db']);
  expect(execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim()).toMatch(/^\d+\.\d+\.\d+$/);
});
