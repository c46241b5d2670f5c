import chalk, { Chalk, type ChalkInstance, chalkStderr } from 'chalk';
import { type Redactor, maskUrls } from '../../lib/redact.js';
import { visible, visibleLine } from './format.js';

/** Where every line the CLI prints goes: results to stdout, everything else to stderr, all redacted. */
export interface Output {
  /** --json: stdout carries exactly one JSON document. */
  readonly json: boolean;
  /** Colour helpers for stdout text (no-ops when colour is off). */
  readonly color: ChalkInstance;
  /** The terminal's width when stdout is one (tables are fitted to it); undefined when piped. */
  readonly width?: number;
  /** Result lines (stdout). */
  print(...lines: string[]): void;
  /** The single JSON document of a --json run (stdout). */
  document(doc: unknown): void;
  /**
   * Bulk result text (stdout), unredacted and unformatted, resolving once the stream can take
   * more: long exports wait here instead of buffering in memory. Rejects with code EPIPE when
   * the reader went away (e.g. `| head`).
   */
  stream(chunk: string): Promise<void>;
  /** Progress and notices (stderr). */
  notice(message: string): void;
  warn(message: string): void;
  error(message: string, hint?: string): void;
}

export interface Streams {
  stdout: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number; once?: NodeJS.WriteStream['once']; off?: NodeJS.WriteStream['off'] };
  stderr: Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };
}

export interface OutputOptions {
  json: boolean;
  /** false: no colour at all (NO_COLOR, --no-color); undefined: chalk decides per stream. */
  color?: boolean;
  redact?: Redactor;
  streams?: Streams;
}

function chalkFor(color: boolean | undefined, auto: ChalkInstance): ChalkInstance {
  if (color === undefined) return auto; // chalk's own rules: TTY, FORCE_COLOR, --no-color
  return new Chalk({ level: color ? Math.max(auto.level, 1) as 1 | 2 | 3 : 0 });
}

export function createOutput(options: OutputOptions): Output {
  const { stdout, stderr } = options.streams ?? { stdout: process.stdout, stderr: process.stderr };
  const redact = options.redact ?? maskUrls;
  const out = chalkFor(options.color, chalk);
  const err = chalkFor(options.color, chalkStderr);
  const writeErr = (text: string) => stderr.write(`${redact(text)}\n`);
  return {
    json: options.json,
    color: out,
    width: stdout.isTTY && stdout.columns ? stdout.columns : undefined,
    print: (...lines) => {
      for (const line of lines) stdout.write(`${redact(line)}\n`);
    },
    document: (doc) => stdout.write(`${redact(JSON.stringify(doc, null, 2))}\n`),
    stream: (chunk) =>
      new Promise<void>((resolve, reject) => {
        const onError = (e: Error) => reject(e);
        stdout.once?.('error', onError);
        const done = () => {
          stdout.off?.('error', onError);
          resolve();
        };
        if (stdout.write(chunk)) done();
        else if (stdout.once) stdout.once('drain', done);
        else done();
      }),
    // Messages can quote what a user typed or a server said: controls in them are shown, not obeyed.
    notice: (message) => writeErr(err.dim(visible(message))),
    warn: (message) => writeErr(err.yellow(`warning: ${visibleLine(message)}`)),
    error: (message, hint) => {
      writeErr(err.red(`error: ${visibleLine(message)}`));
      if (hint) writeErr(err.dim(`hint: ${visibleLine(hint)}`));
    },
  };
}
