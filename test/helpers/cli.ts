import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The package's bin, as an installed bindu-db runs it: bin/bindu-db.cjs, which runs the built bundle. */
export const binPath = path.join(repoRoot, (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['bindu-db']);

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
 * The environment the CLI runs with in tests: no DATABASE_URL or STORAGE_TYPE from the machine,
 * colour off, and no NODE_EXTRA_CA_CERTS: node parses that file at every start (about 80 ms of
 * CPU per run here), and no test's server needs it (the TLS tests name their root with sslrootcert).
 * The test server's own client tools come first on PATH: Debian's /usr/bin/pg_dump, psql and
 * pg_restore are one Perl wrapper, about 40 ms of CPU at each start before the tool runs, and the
 * suite starts them hundreds of times (the wrapper itself is tested in backup.test.ts).
 */
function cliEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const bindir = process.env.TEST_PG_BINDIR;
  const PATH = bindir ? `${bindir}${path.delimiter}${process.env.PATH ?? ''}` : process.env.PATH;
  const env: Record<string, string | undefined> = { ...process.env, PATH, DATABASE_URL: undefined, STORAGE_TYPE: undefined, NO_COLOR: '1', FORCE_COLOR: undefined, NODE_EXTRA_CA_CERTS: undefined, ...extra };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  return env as Record<string, string>;
}

/**
 * Runs the built CLI (npm test builds first) with a clean environment: no DATABASE_URL or
 * STORAGE_TYPE leaks in from the machine, colour off.
 */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env = cliEnv(options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { cwd: options.cwd ?? repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'], uid: options.uid, gid: options.uid });
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

/** The CLI started in the background: its output so far, and how it ended. */
export interface StartedCli {
  readonly pid: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  kill(signal: NodeJS.Signals): boolean;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the CLI as runCli does (same clean environment), without waiting for it. */
export function startCli(args: string[], options: Pick<CliOptions, 'env'> = {}): StartedCli {
  const child = spawn(process.execPath, [binPath, ...args], { cwd: repoRoot, env: cliEnv(options.env) as NodeJS.ProcessEnv });
  const started = {
    pid: child.pid,
    stdout: '',
    stderr: '',
    kill: (signal: NodeJS.Signals) => child.kill(signal),
    exited: new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal }));
    }),
  };
  child.stdout.on('data', (d) => (started.stdout += d));
  child.stderr.on('data', (d) => (started.stderr += d));
  return started;
}

/**
 * Awaits a condition, polling every 20 ms (the poll interval, not a wait for time to pass); fails
 * naming `what` if it does not hold within `limitMs`, or once `stop` settles (the process ended).
 */
export async function until(what: string, ok: () => boolean | Promise<boolean>, opts: { limitMs?: number; stop?: Promise<unknown> } = {}): Promise<void> {
  let stopped = false;
  void opts.stop?.finally(() => (stopped = true));
  const deadline = Date.now() + (opts.limitMs ?? 60_000);
  while (!(await ok())) {
    if (stopped) throw new Error(`the process ended before ${what}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts the CLI and sends `signal`, once, as soon as stderr shows `marker` (a second Ctrl-C means "stop now"). */
export async function killWhen(args: string[], env: Record<string, string>, marker: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ stderr: string; signal: NodeJS.Signals | null; code: number | null; pid?: number }> {
  const cli = startCli(args, { env });
  await until(`"${marker}" on stderr`, () => cli.stderr.includes(marker), { stop: cli.exited });
  cli.kill(signal);
  const end = await cli.exited;
  return { stderr: cli.stderr, ...end, pid: cli.pid };
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
    const child = spawn('script', ['-qec', `${options.setup ? `${options.setup}; ` : ''}exec ${command}`, '/dev/null'], { cwd: repoRoot, env: cliEnv(options.env) });
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
