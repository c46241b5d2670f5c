import type { Config, PgConnection } from '../config.js';
import { ConfigError } from '../errors.js';
import { VERSION_ARGS, libpqEnv, parseToolVersion } from '../lib/pgArgs.js';
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
