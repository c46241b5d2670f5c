// What a dump holds, read from pg_dump's own bookkeeping: the `-- Name: …; Type: …; Schema: …`
// headers of a plain script, or the table of contents `pg_restore -l` prints for an archive.
// restore needs it to refuse, and to --clean, only the schemas the dump actually brings.

/** One entry of a dump: an object it creates (or a table whose rows it holds). */
export interface DumpEntry {
  /** pg_dump's type: TABLE, TABLE DATA, SEQUENCE, FUNCTION, TYPE, SCHEMA… */
  type: string;
  /** The object's schema; null for schemas themselves, extensions and the like. */
  schema: string | null;
  /** Its name as pg_dump tags it, unquoted; functions carry their argument types: f(integer). */
  name: string;
}

// Every pattern on a line takes `s`: a name may hold U+2028 or U+2029, where a bare `.` stops.
const HEADER = /^-- (?:Data for )?Name: (.*); Type: (.*); Schema: (.*); Owner: .*$/s;

/** One header line of a plain script, or undefined for any other line. */
export function parseHeaderLine(line: string): DumpEntry | undefined {
  const m = HEADER.exec(line);
  if (!m) return undefined;
  return { name: m[1], type: m[2], schema: m[3] === '-' ? null : m[3] };
}

/** The head of a plain script ends at its first rows; what it creates is all declared before. */
export function startsData(line: string): boolean {
  return line.startsWith('COPY ') || line.startsWith('INSERT INTO ');
}

// pg_restore -l prints "id; tableoid oid TYPE SCHEMA NAME OWNER", unquoted and space-separated;
// types can hold spaces, so they are matched from this list (pg_dump's, longest first).
const TOC_TYPES = [
  'MATERIALIZED VIEW DATA', 'SEQUENCE OWNED BY', 'MATERIALIZED VIEW', 'FK CONSTRAINT', 'CHECK CONSTRAINT', 'TABLE ATTACH', 'INDEX ATTACH',
  'SEQUENCE SET', 'TABLE DATA', 'FOREIGN TABLE', 'DEFAULT ACL', 'EVENT TRIGGER', 'LARGE OBJECT', 'ROW SECURITY', 'OPERATOR CLASS',
  'OPERATOR FAMILY', 'TEXT SEARCH CONFIGURATION', 'TEXT SEARCH DICTIONARY', 'SHELL TYPE', 'STATISTICS', 'CONSTRAINT', 'SEQUENCE',
  'TABLE', 'VIEW', 'INDEX', 'TRIGGER', 'RULE', 'POLICY', 'FUNCTION', 'PROCEDURE', 'AGGREGATE', 'TYPE', 'DOMAIN', 'DEFAULT',
  'COMMENT', 'SCHEMA', 'EXTENSION', 'COLLATION', 'CONVERSION', 'OPERATOR', 'ACL', 'PUBLICATION', 'SUBSCRIPTION', 'CAST',
].sort((a, b) => b.length - a.length);

/** One line of `pg_restore -l` output, or undefined for comments and types not listed above. */
export function parseTocLine(line: string): DumpEntry | undefined {
  const m = /^\d+; \d+ \d+ (.*)$/s.exec(line);
  if (!m) return undefined;
  const type = TOC_TYPES.find((t) => m[1].startsWith(`${t} `));
  if (!type) return undefined;
  const rest = m[1].slice(type.length + 1);
  const space = rest.indexOf(' ');
  if (space < 0) return undefined;
  const schema = rest.slice(0, space);
  // NAME OWNER: the owner is the last word, or empty (the line then ends in a space).
  const nameOwner = rest.slice(space + 1);
  const name = nameOwner.endsWith(' ') ? nameOwner.slice(0, -1) : nameOwner.slice(0, Math.max(0, nameOwner.lastIndexOf(' ')));
  return { type, schema: schema === '-' ? null : schema, name };
}

/** Entries that create a schema, or comment on one: restore creates schemas itself (IF NOT EXISTS). */
export function isSchemaEntry(e: DumpEntry): boolean {
  return e.type === 'SCHEMA' || (e.type === 'COMMENT' && e.schema === null && e.name.startsWith('SCHEMA '));
}

/**
 * A data-only dump (pg_dump --data-only): rows and sequence values, no table definitions. Told
 * from the dump's contents, not from how it was made: it must go into tables that exist already.
 */
export function isDataOnly(entries: DumpEntry[]): boolean {
  return !entries.some((e) => e.type === 'TABLE' || e.type === 'FOREIGN TABLE') && entries.some((e) => e.type === 'TABLE DATA' || e.type === 'SEQUENCE SET');
}

/** `COPY … FROM stdin;` starts a block of rows that ends at a line `\.`; nothing inside is a header. */
export function startsCopy(line: string): boolean {
  return line.startsWith('COPY ') && line.endsWith(' FROM stdin;');
}
