import type { Config, PgConnection } from '../config.js';
import { queryServerVersionNum } from '../db/pgClient.js';
import { ConfigError } from '../errors.js';
import { SERVER_VERSION_ARGS, VERSION_ARGS, libpqEnv, parseToolVersion } from '../lib/pgArgs.js';
import { runTool } from '../lib/process.js';
import { createRedactor } from '../lib/redact.js';

// What backup and restore share about the PostgreSQL client tools they spawn.

export const MISSING_HINT = 'install the PostgreSQL client tools (e.g. apt-get install postgresql-client), or point --pg-bin <dir> (or PG_DUMP, PSQL, PG_RESTORE) at them';

/** The child's environment: ours without the PG* variables that could redirect it (see Config.toolEnv), plus the connection's own (password included). */
export function toolEnv(config: Config, c?: PgConnection): Record<string, string> {
  return { ...config.toolEnv, ...(c ? libpqEnv(c, config.connectTimeoutSeconds) : {}) };
}

export function connectionOf(config: Config): PgConnection {
  if (config.target.kind !== 'postgres') throw new Error('not a PostgreSQL target');
  return config.target.connection;
}

/** Runs `<tool> --version`; a missing tool is a ConfigError naming where it was looked for. */
export async function toolVersion(config: Config, name: string, command: string): Promise<{ major: number; text: string }> {
  const out = await runTool({ name, command, args: VERSION_ARGS, env: toolEnv(config) }, { redact: createRedactor(config.secrets), missingHint: MISSING_HINT });
  const version = parseToolVersion(out);
  if (!version) throw new ConfigError(`${command} --version printed "${out.trim().slice(0, 80)}", not a PostgreSQL version`, MISSING_HINT);
  return version;
}

/** How long psql may take to tell the server's version before our own connection asks too. */
const PSQL_PATIENCE_MS = 250;

/**
 * The server's server_version_num, e.g. 150018, for a backup's version check.
 *
 * psql tells it in about 15 ms, where loading the pg driver alone takes 30, and everything before
 * pg_dump starts adds to the backup's time. psql is only the fast way: if it is missing or fails,
 * our own connection asks, and its error (with the usual hints) is the one reported, so a wrong
 * password reads the same either way. If psql is slow, our connection asks alongside, so a server
 * that does not answer costs one connect timeout, not two. psql never outlives the question.
 */
export async function serverVersionNum(config: Config, signal?: AbortSignal): Promise<number> {
  const c = connectionOf(config);
  const stop = new AbortController();
  let viaPg: Promise<number> | undefined;
  const askPg = () => (viaPg ??= queryServerVersionNum(c, config.connectTimeoutSeconds));
  const viaPsql = runTool(
    { name: 'psql', command: config.tools.psql, args: SERVER_VERSION_ARGS, env: toolEnv(config, c) },
    { redact: createRedactor(config.secrets), signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal },
  ).then((out) => {
    const num = Number(out.trim());
    if (!Number.isInteger(num) || num <= 0) throw new Error(`psql printed "${out.trim().slice(0, 40)}"`);
    return num;
  });
  const answered = viaPsql.catch((err: unknown) => {
    if (signal?.aborted) throw err; // interrupted: no second try
    return askPg();
  });
  let timer: NodeJS.Timeout | undefined;
  const hedge = new Promise<number>((resolve, reject) => {
    timer = setTimeout(() => askPg().then(resolve, reject), PSQL_PATIENCE_MS);
  });
  try {
    return await Promise.race([answered, hedge.catch(() => answered)]);
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
}
