import { describe, expect, test } from '@jest/globals';
import { parseDatabaseUrl } from '../../src/config.js';
import { dumpArgs, libpqEnv, parseToolVersion, planPgRestoreToScript, planPsqlRestore, planPsqlSteps, planTocList, serverMajor } from '../../src/lib/pgArgs.js';
import { resolveBackupFormat } from '../../src/core/backup/plan.js';
import { sniffFormat } from '../../src/core/restore/run.js';
import { prepareScript, rewriteHeadLine, splitScript } from '../../src/lib/sqlScript.js';

const PASSWORD = 's3cr3t p@ss:/?#';
const url = `postgresql+asyncpg://bindu%20user:${encodeURIComponent(PASSWORD)}@db.example.com:6543/bindu_db?ssl=require&sslrootcert=/etc/ca.pem`;

describe('libpqEnv', () => {
  test('carries every connection detail, the password only in PGPASSWORD', () => {
    expect(libpqEnv(parseDatabaseUrl(url), 10)).toEqual({
      PGHOST: 'db.example.com',
      PGPORT: '6543',
      PGUSER: 'bindu user',
      PGDATABASE: 'bindu_db',
      PGSSLMODE: 'require',
      PGSSLROOTCERT: '/etc/ca.pem',
      PGAPPNAME: 'bindu-db',
      PGCONNECT_TIMEOUT: '10',
      PGPASSWORD: PASSWORD,
    });
  });
  test.each([
    ['no password', 'postgresql://u@h/d', undefined],
    ['sslmode=verify-full', 'postgresql://u:p@h/d?sslmode=verify-full', 'verify-full'],
    ['ssl=false', 'postgresql://u:p@h/d?ssl=false', 'disable'],
    ['default prefer', 'postgresql://u:p@h/d', 'prefer'],
  ])('%s', (_name, u, ssl) => {
    const env = libpqEnv(parseDatabaseUrl(u), 0.5);
    if (ssl) expect(env.PGSSLMODE).toBe(ssl);
    else expect(env.PGPASSWORD).toBeUndefined();
    expect(env.PGCONNECT_TIMEOUT).toBe('1'); // never 0, which libpq reads as "forever"
  });
});

describe('argv plans never hold a connection', () => {
  test.each([
    [{ format: 'plain' as const }, ['--no-password', '--no-owner', '--no-privileges', '--format=p']],
    // Names kept exactly (pg_dump folds an unquoted pattern to lower case), several, all required to exist.
    [{ format: 'custom' as const, schemas: ['AgentX', 'a"b*'] }, ['--no-password', '--no-owner', '--no-privileges', '--format=c', '--schema="AgentX"', '--schema="a""b*"', '--strict-names']],
    [{ format: 'plain' as const, compress: 6 }, ['--no-password', '--no-owner', '--no-privileges', '--format=p', '--compress=6']],
    [{ format: 'plain' as const, schemaOnly: true }, ['--no-password', '--no-owner', '--no-privileges', '--format=p', '--schema-only']],
    [{ format: 'plain' as const, dataOnly: true }, ['--no-password', '--no-owner', '--no-privileges', '--format=p', '--data-only']],
  ])('dumpArgs %j', (opts, args) => {
    expect(dumpArgs(opts)).toEqual(args);
  });
  test('psql and pg_restore', () => {
    const psql = planPsqlRestore(parseDatabaseUrl(url), 10);
    expect(psql.args).toEqual(['--no-psqlrc', '--no-password', '--quiet', '--no-align', '--tuples-only', '-v', 'ON_ERROR_STOP=1', '--file=-']);
    expect(psql.env.PGPASSWORD).toBe(PASSWORD);
    expect(planPgRestoreToScript('/b/x.dump')).toEqual({ args: ['--no-owner', '--no-privileges', '--file=-', '/b/x.dump'], env: {} });
    expect(planPgRestoreToScript('/b/x.dump', { list: '/t/list', output: '/t/out', restrictKey: 'k1' }).args).toEqual(['--no-owner', '--no-privileges', '--restrict-key=k1', '--use-list=/t/list', '--file=/t/out', '/b/x.dump']);
    expect(planTocList('/b/x.dump').args).toEqual(['--list', '/b/x.dump']);
    const steps = planPsqlSteps(parseDatabaseUrl(url), 10, [{ file: '/t/head.sql' }, { file: '-' }, { command: 'COMMIT' }]);
    expect(steps.args.slice(-3)).toEqual(['--file=/t/head.sql', '--file=-', '--command=COMMIT']);
    expect(steps.args).toContain('ON_ERROR_STOP=1');
    for (const arg of [...psql.args, ...steps.args, ...dumpArgs({ format: 'plain' })]) expect(arg).not.toContain('p@ss');
  });
});

describe('versions', () => {
  test.each([
    ['pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)', 15],
    ['pg_dump (PostgreSQL) 18.3', 18],
    ['pg_dump (PostgreSQL) 9.6.24', 9.6],
    ['psql (PostgreSQL) 17beta1', 17],
  ])('%s → %s', (text, major) => {
    expect(parseToolVersion(text)?.major).toBe(major);
  });
  test('not a version', () => expect(parseToolVersion('hello')).toBeUndefined());
  test.each([
    [150018, 15],
    [180006, 18],
    [90624, 9.6],
  ])('server %i → %s', (num, major) => expect(serverMajor(num)).toBe(major));
});

describe('formats', () => {
  test.each([
    ['b.sql', undefined, 'plain'],
    ['b.SQL.GZ', undefined, 'gzip'],
    ['b.dump', undefined, 'custom'],
    ['b.bak', 'custom', 'custom'],
    ['b.gz', 'plain', 'gzip'],
    ['b.sql', 'custom', 'custom'],
  ])('%s --format %s → %s', (file, flag, format) => expect(resolveBackupFormat(file, flag)).toBe(format));
  test.each([['b.bak', undefined], ['b.sql', 'tar'], ['b.dump.gz', 'custom']])('%s --format %s is a usage error', (file, flag) => {
    expect(() => resolveBackupFormat(file, flag)).toThrow(expect.objectContaining({ exitCode: 2 }));
  });
  test('sniffed from content', () => {
    expect(sniffFormat(Buffer.from('PGDMP\x01\x0e'))).toBe('custom');
    expect(sniffFormat(Buffer.from([0x1f, 0x8b, 8]))).toBe('gzip');
    expect(sniffFormat(Buffer.from('--\n-- PostgreSQL'))).toBe('plain');
  });
});

async function* chunks(text: string, size: number): AsyncGenerator<Buffer> {
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const SCRIPT = `SET transaction_timeout = 0;
\\restrict abc
CREATE SCHEMA public;
COMMENT ON SCHEMA public IS 'standard public schema';
CREATE TABLE public.t (a int, b text);
COPY public.t (a, b) FROM stdin;
1\tsay "hi"\\nthere ✓
2\t\\N
\\.
CREATE SCHEMA x;
-- PostgreSQL database dump complete
\\unrestrict abc
`;

describe('scripts', () => {
  test.each([
    ['SET transaction_timeout = 0;', 15, ''],
    ['SET transaction_timeout = 0;', 17, 'SET transaction_timeout = 0;'],
    ['CREATE SCHEMA agent_x;', 15, 'CREATE SCHEMA IF NOT EXISTS agent_x;'],
    // A line separator (U+2028) in a name is no line end: JavaScript's `.` stops at it.
    ['CREATE SCHEMA "a\u2028b";', 15, 'CREATE SCHEMA IF NOT EXISTS "a\u2028b";'],
    ["COMMENT ON SCHEMA public IS 'standard public schema';", 18, ''],
    ['SET lock_timeout = 0;', 15, 'SET lock_timeout = 0;'],
  ])('head line %s on PostgreSQL %i', (line, major, out) => expect(rewriteHeadLine(line, { targetMajor: major })).toBe(out));

  test.each([1, 7, 4096])('prepareScript rewrites the head only, whatever the chunking (%i bytes)', async (size) => {
    const out = Buffer.concat(await collect(prepareScript(chunks(SCRIPT, size), { targetMajor: 15 }))).toString();
    // The file's own \restrict goes (restore runs psql restricted with a key of its own), as do the
    // setting and comment the target cannot run, each as a blank line: psql's line numbers stay the file's.
    expect(out.startsWith('\n\nCREATE SCHEMA IF NOT EXISTS public;\n\nCREATE TABLE')).toBe(true);
    expect(out.split('\n').length).toBe(SCRIPT.split('\n').length);
    expect(out).toContain('COPY public.t (a, b) FROM stdin;\n1\tsay "hi"\\nthere ✓\n');
    expect(out).toContain('\nCREATE SCHEMA x;\n'); // past the head: untouched
  });

  test('prepareScript rejects a truncated script', async () => {
    await expect(collect(prepareScript(chunks(SCRIPT.slice(0, 150), 64), { targetMajor: 15 }))).rejects.toThrow(/incomplete/);
    await expect(collect(prepareScript(chunks('', 64), { targetMajor: 15 }))).rejects.toThrow(/empty/);
  });

  test.each([1, 5, 4096])('splitScript separates SQL, COPY data and meta-commands (%i-byte chunks)', async (size) => {
    const parts = await collect(splitScript(chunks(SCRIPT, size)));
    expect(parts.map((p) => p.kind)).toEqual(['sql', 'copy', 'sql']);
    const copy = parts[1] as { statement: string; data: Buffer };
    expect(copy.statement).toBe('COPY public.t (a, b) FROM stdin;');
    expect(copy.data.toString()).toBe('1\tsay "hi"\\nthere ✓\n2\t\\N\n');
    expect((parts[0] as { text: string }).text).not.toContain('\\restrict');
    expect((parts[2] as { text: string }).text).not.toContain('\\unrestrict');
  });

  test('splitScript takes COPY into a schema whose name holds a line separator (U+2028) for COPY', async () => {
    const parts = await collect(splitScript(chunks('COPY "a\u2028b".t (a) FROM stdin;\n1\n\\.\n', 4096)));
    expect(parts).toEqual([{ kind: 'copy', statement: 'COPY "a\u2028b".t (a) FROM stdin;', data: Buffer.from('1\n') }]);
  });

  test('splitScript rejects a script cut inside COPY data', async () => {
    await expect(collect(splitScript(chunks(SCRIPT.slice(0, SCRIPT.indexOf('2\t')), 16)))).rejects.toThrow(/COPY/);
  });
});
