import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { BinduError, CancelledError, ConfigError, OperationError } from '../errors.js';

// The one module that spawns processes. argv arrays only, never a shell. Each tool runs in a
// process group of its own, killed as a group when we are interrupted or when the caller gives up
// on it: a wrapper script's own children (a PG_DUMP that is a shell script) never outlive a run.

export interface ToolCommand {
  /** How errors name it (pg_dump), whatever the command's file is called. */
  name: string;
  /** A name looked up on PATH, or a path. */
  command: string;
  args: string[];
  /** The complete environment of the child. */
  env: Record<string, string>;
}

export interface StartOptions {
  /** 'pipe' to feed the child's stdin; a file descriptor to let it read a file itself; another child's stdout. */
  stdin?: 'pipe' | 'ignore' | number | Readable;
  /** 'pipe' to read the child's stdout; a file descriptor to let it write a file itself. */
  stdout?: 'pipe' | 'ignore' | number;
  /** Scrubs secrets from the stderr we report. */
  redact: (text: string) => string;
  /** Aborting kills the child's process group (the CLI aborts it on SIGINT and SIGTERM). */
  signal?: AbortSignal;
  /** Hint for a command that is not installed. */
  missingHint?: string;
}

export interface RunningTool {
  /** The child's process id (undefined when it could not be spawned). */
  readonly pid: number | undefined;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  /** Settles when the child exits: resolves on exit 0, rejects with a one-line error otherwise. */
  readonly done: Promise<void>;
  /** Stops the child's process group: SIGTERM, then SIGKILL if it lingers. Safe to call twice. */
  kill(): void;
}

const KILL_GRACE_MS = 2000;
const STDERR_LIMIT = 64 * 1024;

/**
 * util-linux's setpriv, on Linux: it asks the kernel to send the child SIGTERM when bindu-db dies
 * (PR_SET_PDEATHSIG), then runs the tool in its own place. A bindu-db killed outright (kill -9)
 * can clean up nothing, but then leaves no pg_dump loading the server and no psql committing a
 * restore that nobody waits for. Where there is no setpriv, tools run directly.
 */
let setprivPath: string | null | undefined;
function setpriv(): string | null {
  if (setprivPath === undefined) {
    const found = process.platform === 'linux' ? ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => fs.existsSync(p)) : undefined;
    // util-linux before 2.33 (RHEL 7) has setpriv without --pdeathsig: every tool would fail to
    // start. The option's name is in the binary when it has it; reading it costs less than asking.
    setprivPath = found && fs.readFileSync(found).includes('pdeathsig') ? found : null;
  }
  return setprivPath;
}

export function startTool(tool: ToolCommand, options: StartOptions): RunningTool {
  const name = tool.name;
  const wrapper = setpriv();
  const [command, args] = wrapper ? [wrapper, ['--pdeathsig', 'TERM', '--', tool.command, ...tool.args]] : [tool.command, tool.args];
  const notFound = () => new ConfigError(`${name} not found or not executable: ${tool.command}`, options.missingHint);
  const child: ChildProcess = spawn(command, args, {
    env: tool.env,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'ignore', 'pipe'],
    shell: false,
    windowsHide: true,
    // Its own process group: killed as one, and out of the terminal's reach (Ctrl-C is ours to handle).
    detached: process.platform !== 'win32',
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += d;
  });
  // A child that died early makes writes to its stdin fail with EPIPE; its exit status says why.
  child.stdin?.on('error', () => undefined);

  let killTimer: NodeJS.Timeout | undefined;
  let closed = false;
  const signalGroup = (sig: NodeJS.Signals) => {
    if (closed || child.pid === undefined) return;
    try {
      process.kill(process.platform === 'win32' ? child.pid : -child.pid, sig);
    } catch {
      // the group is gone already
    }
  };
  // The tool itself may have exited while a child of its own still runs: the group is killed
  // until our side of the pipes closes ('close'), not only until the tool exits.
  const kill = () => {
    signalGroup('SIGTERM');
    killTimer ??= setTimeout(() => signalGroup('SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  const forget = atExit(() => signalGroup('SIGKILL'));
  const onAbort = () => kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) kill(); // interrupted before it even started

  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      closed = true;
      forget();
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        reject(notFound());
      } else {
        reject(new OperationError(`could not run ${name}: ${err.message}`, undefined, err));
      }
    });
    child.once('close', (code, signal) => {
      closed = true;
      forget();
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(abortError(options.signal));
      if (code === 0) return resolve();
      if (wrapper && (code === 126 || code === 127) && stderr.startsWith('setpriv: failed to execute')) return reject(notFound());
      const why = oneLine(options.redact(stderr)) || (signal ? `killed by ${signal}` : 'no error output');
      reject(new OperationError(`${name} failed (${code === null ? signal : `exit ${code}`}): ${why}`));
    });
  });
  // Callers may race done against other work; never let it be an unhandled rejection meanwhile.
  done.catch(() => undefined);
  return { pid: child.pid, stdin: child.stdin, stdout: child.stdout, done, kill };
}

/** Runs a short-lived tool (e.g. `--version`) and returns its stdout. */
export async function runTool(tool: ToolCommand, options: Omit<StartOptions, 'stdin' | 'stdout'>): Promise<string> {
  const running = startTool(tool, { ...options, stdout: 'pipe' });
  let out = '';
  running.stdout!.setEncoding('utf8');
  running.stdout!.on('data', (d: string) => (out += d));
  await running.done;
  return out;
}

/** stderr as one line: the lines joined, pg_dump's "pg_dump: error: " prefixes kept, capped. */
function oneLine(text: string): string {
  const joined = text.split('\n').map((l) => l.trim()).filter(Boolean).join(' | ');
  return joined.length > 600 ? `${joined.slice(0, 600)}…` : joined;
}

const exitCleanups = new Set<() => void>();

/**
 * Registers something to undo synchronously if the process must exit before the operation could
 * clean up itself (a second Ctrl-C, or a handler that does not stop in time): kill a tool's group,
 * remove a temporary file. Returns the function that unregisters it.
 */
export function atExit(cleanup: () => void): () => void {
  exitCleanups.add(cleanup);
  return () => exitCleanups.delete(cleanup);
}

/** Runs every registered cleanup, once; the CLI calls it just before a forced exit. */
export function runExitCleanups(): void {
  for (const cleanup of [...exitCleanups]) {
    exitCleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // exiting anyway: each cleanup is best effort
    }
  }
}

/** The error an operation ends with once interrupted. */
export function abortError(signal: AbortSignal, what = 'nothing was changed'): BinduError {
  return signal.reason === 'SIGTERM' ? new BinduError(`terminated (SIGTERM): ${what}`, { exitCode: 143 }) : new CancelledError(`cancelled: ${what}`);
}

/** One turn of the event loop, in which a pending SIGINT or SIGTERM is handled. */
export const signalsSeen = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Between two pieces of long in-process work: lets a pending SIGINT or SIGTERM be handled, then
 * throws abortError once `signal` is aborted. The embedded database runs each statement on the
 * event loop's thread and resolves its promises as microtasks, so a loop of awaited queries
 * alone never gives the loop a turn, and a signal would wait for the whole loop to end.
 */
export async function checkpoint(signal: AbortSignal | undefined, what?: string): Promise<void> {
  await signalsSeen();
  if (signal?.aborted) throw abortError(signal, what);
}
