import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const binPath = path.join(repoRoot, 'bin', 'bindu-db.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
  /** Run as this user id (and its group): e.g. nobody's, to meet a directory it cannot write. */
  uid?: number;
}

/**
 * Runs the built CLI (npm test builds first) with a clean environment: no DATABASE_URL or
 * STORAGE_TYPE leaks in from the machine, colour off.
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: undefined, STORAGE_TYPE: undefined, NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: options.cwd ?? repoRoot, env: env as NodeJS.ProcessEnv, stdio: ['pipe', 'pipe', 'pipe'], uid: options.uid, gid: options.uid });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** The names of the migrations the package ships, in the order they apply. */
export async function shippedMigrations(): Promise<string[]> {
  const { readPackageMigrations } = await import('../../src/core/migrationFiles.js');
  return readPackageMigrations().map((m) => m.name);
}

/**
 * Runs the CLI on a pseudo-terminal (`script`), unsized unless `setup` sizes it (e.g.
 * `stty cols 80 rows 24`); `keys` are typed in once `prompt` shows. Output is one stream.
 */
export function runOnTerminal(args: string[], options: { env?: Record<string, string>; setup?: string; prompt?: RegExp; keys?: string } = {}): Promise<{ code: number | null; text: string }> {
  const command = [process.execPath, binPath, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', `${options.setup ? `${options.setup}; ` : ''}exec ${command}`, '/dev/null'], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', ...options.env } });
    let text = '';
    let keys = options.keys;
    child.stdout.on('data', (d) => {
      text += d;
      if (keys && options.prompt?.test(text)) {
        child.stdin.write(keys);
        keys = undefined;
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, text }));
  });
}
