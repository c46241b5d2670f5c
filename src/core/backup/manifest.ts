import fs from 'node:fs';

// What a backup records about itself when it is made: the schemas it holds and each table's row
// count, read in the same snapshot as the dump (while pg_dump runs). `backup verify` compares a
// restore with it, and restore takes the schemas from it. It is the file's last line: a SQL
// comment after the end of a plain dump (a gzip member of its own in a .gz), and after the last
// byte of a custom archive, where pg_restore never reads; psql is never given it.

export interface Manifest {
  schemas: string[];
  /** "schema.table" → rows at backup time. */
  rows: Record<string, number>;
}

const PREFIX = '-- bindu-db manifest: ';

/** The manifest as one line (ending in a newline). */
export function manifestLine(m: Manifest): string {
  return `${PREFIX}${JSON.stringify({ schemas: m.schemas, rows: m.rows })}\n`;
}

/** The manifest of a line, or undefined when the line is not one (or is malformed). */
export function parseManifestLine(line: string): Manifest | undefined {
  if (!line.startsWith(PREFIX)) return undefined;
  try {
    const m = JSON.parse(line.slice(PREFIX.length)) as Partial<Manifest>;
    const rowsOk = m.rows && typeof m.rows === 'object' && Object.values(m.rows).every((n) => Number.isInteger(n) && n >= 0);
    if (!Array.isArray(m.schemas) || !m.schemas.every((s) => typeof s === 'string') || !rowsOk) return undefined;
    return { schemas: m.schemas, rows: m.rows as Record<string, number> };
  } catch {
    return undefined;
  }
}

/**
 * The tables a manifest counts. Its keys are "schema.table", and schema names may hold dots
 * themselves, so a key is split after the longest schema of the manifest it starts with.
 */
export function manifestTables(m: Manifest): { key: string; schema: string; name: string }[] {
  const schemas = [...m.schemas].sort((a, b) => b.length - a.length);
  return Object.keys(m.rows).map((key) => {
    const schema = schemas.find((s) => key.startsWith(`${s}.`)) ?? key.slice(0, key.indexOf('.'));
    return { key, schema, name: key.slice(schema.length + 1) };
  });
}

/** How far from the end of an archive its manifest is looked for. */
const TRAILER_MAX = 4 << 20;

/** The manifest appended to a custom archive, or undefined. */
export function readArchiveManifest(file: string): Manifest | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Math.min(size, TRAILER_MAX);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    const at = buf.lastIndexOf(`\n${PREFIX}`);
    if (at === -1) return undefined;
    return parseManifestLine(buf.toString('utf8', at + 1).replace(/\n$/, ''));
  } finally {
    fs.closeSync(fd);
  }
}
