/** Exit codes, as README.md lists them. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  pending: 3,
  cancelled: 130,
} as const;

/** An error meant for the user: one line, an optional hint, and the exit code it maps to. */
export class BinduError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.hint = options.hint;
  }
}

/** Bad flags or arguments (exit 2). */
export class UsageError extends BinduError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** Bad or missing configuration (exit 2). */
export class ConfigError extends BinduError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** A destructive action that was not confirmed (exit 2). */
export class RefusedError extends BinduError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, hint });
  }
}

/** The operation itself failed (exit 1). */
export class OperationError extends BinduError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: ExitCode.failed, hint, cause });
  }
}

/**
 * A stack overflow as what it means here: jsonb holds data nested deeper than JavaScript's stack
 * lets JSON.stringify (or any walk) go, about 5,000 levels against PostgreSQL's 10,000 or so.
 */
export function tooDeepError(err: unknown): OperationError | undefined {
  if (!(err instanceof RangeError) || err.message !== 'Maximum call stack size exceeded') return undefined;
  return new OperationError('a value read from the database is nested too deeply to show (thousands of levels of JSON arrays or objects)', 'read that column with SQL instead, e.g. psql and jsonb_path_query', err);
}

/** Cancelled by the user: Ctrl-C at a prompt or during an operation (exit 130). */
export class CancelledError extends BinduError {
  constructor(message = 'cancelled') {
    super(message, { exitCode: ExitCode.cancelled });
  }
}

/** `migrate status --check` found pending migrations (exit 3). */
export class PendingMigrationsError extends BinduError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.pending });
  }
}

/** Fields PostgreSQL (pg and PGlite alike) puts on a failed query. */
export interface PgErrorFields {
  code?: string;
  detail?: string;
  hint?: string;
  message: string;
}

export function isPgError(err: unknown): err is Error & PgErrorFields {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
}

/**
 * "message (SQLSTATE 23514); detail" plus the hint, as graphile-migrate's logDbError shows them.
 * knex prefixes the message with the whole statement ("<sql> - <message>"): the statement goes
 * to `statement`, cut short, so the error stays one line.
 */
export function describePgError(err: Error & PgErrorFields): { message: string; hint?: string; statement?: string } {
  const split = err.message.lastIndexOf(' - ');
  const text = split >= 0 ? err.message.slice(split + 3) : err.message;
  const statement = split >= 0 ? err.message.slice(0, split).replace(/\s+/g, ' ').trim() : undefined;
  const detail = err.detail ? `; ${err.detail}` : '';
  return {
    message: `${text} (SQLSTATE ${err.code})${detail}`,
    hint: err.hint,
    statement: statement && (statement.length > 120 ? `${statement.slice(0, 119)}…` : statement),
  };
}

/**
 * An error thrown by the project's own code (a migration, a seed): `what failed` says whose, the
 * database's error as describePgError has it, anything else by its message. Never "please report":
 * the bug is in that file.
 */
export function userCodeError(whatFailed: string, err: unknown, hint?: string): OperationError {
  if (isPgError(err)) {
    const { message, hint: pgHint, statement } = describePgError(err);
    const hints = [pgHint, statement && `in: ${statement}`, hint].filter(Boolean).join('; ');
    return new OperationError(`${whatFailed}: ${message}`, hints || undefined, err);
  }
  return new OperationError(`${whatFailed}: ${(err as Error)?.message ?? String(err)}`, hint, err);
}

/** `schemas doctor` found differences from a layout's reference (exit 3, a CI gate). */
export class DriftFoundError extends BinduError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.pending });
  }
}

/** A value the user typed, quoted for an error message and cut to a length fit for one line. */
export function quoted(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max - 1)}…` : value);
}
