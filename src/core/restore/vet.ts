import { RefusedError } from '../../errors.js';
import { type DumpEntry, parseHeaderLine } from '../../lib/dumpContents.js';
import { COMPLETE_MARK, incompleteError, rewriteHeadLine } from '../../lib/sqlScript.js';
import { type Manifest, parseManifestLine } from '../backup/manifest.js';

// The untrusted-file check. A backup file is input from wherever it came from, and psql would run
// whatever it says: meta-commands (\! runs a shell), COMMIT in the middle of our transaction,
// role and database statements, COPY ... PROGRAM. Before anything reaches the target, the whole
// script is read once and refused, naming the line, if it holds anything pg_dump does not write
// for the schemas it declares. psql then runs restricted as well (see run.ts): this check is what
// gives a clear error; restricted mode is what holds if the check ever misses something.

/** What the check learnt about a script that passed it. */
export interface VettedScript {
  /** pg_dump's `-- Name: …` headers, in order. */
  entries: DumpEntry[];
  /** The schemas the file declares: its manifest's, or those its headers name. */
  schemas: string[];
  /**
   * The schemas its statements make or write into. Only these are restored (and dropped first by
   * --clean): a manifest or header is a comment, and could name any schema of the target.
   */
  written: string[];
  /** bindu-db's manifest (row counts at backup time), when the file has one. */
  manifest?: Manifest;
  /** Byte offset where the script's own trailing `\unrestrict` starts (or its end): psql is fed up to here. */
  bodyEnd: number;
}

/** The first words of statements pg_dump never writes, and why each is refused. */
const REFUSED: [RegExp, string][] = [
  [/^(BEGIN|START TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE|PREPARE TRANSACTION)\b/, 'transaction control'],
  [/^(CREATE|ALTER|DROP) (ROLE|USER|GROUP)\b|^SET (SESSION |LOCAL )?(ROLE|SESSION AUTHORIZATION)\b|^RESET (ROLE|SESSION AUTHORIZATION|ALL)\b|^(REASSIGN|DROP) OWNED\b/, 'a role statement'],
  [/^(CREATE|ALTER|DROP) (DATABASE|TABLESPACE|SUBSCRIPTION|SERVER|FOREIGN DATA WRAPPER|USER MAPPING|EVENT TRIGGER|LANGUAGE|PUBLICATION|CAST|TRANSFORM|ACCESS METHOD)\b/, 'a statement outside the backup\'s schemas'],
  [/^ALTER SYSTEM\b/, 'ALTER SYSTEM'],
  [/^(DO|CALL|EXECUTE|PREPARE|LOAD|CHECKPOINT|VACUUM|CLUSTER|LISTEN|NOTIFY|DISCARD|LOCK|TRUNCATE|DELETE|UPDATE|MERGE|IMPORT FOREIGN SCHEMA|SECURITY LABEL)\b/, 'a statement pg_dump does not write'],
];
/** The first words of every statement pg_dump writes; anything else (WITH, VALUES, EXPLAIN, REINDEX, …) is refused. */
const PG_DUMP_STATEMENT = /^(SET|SELECT|CREATE|ALTER|DROP|COMMENT ON|COPY|GRANT|REVOKE|INSERT INTO|REFRESH MATERIALIZED VIEW)\b/;
/** The settings pg_dump's scripts make (search_path in older ones); others (allow_system_table_mods, …) change what the session may do. */
const SETTING = /^SET (STATEMENT_TIMEOUT|LOCK_TIMEOUT|IDLE_IN_TRANSACTION_SESSION_TIMEOUT|TRANSACTION_TIMEOUT|CLIENT_ENCODING|STANDARD_CONFORMING_STRINGS|CHECK_FUNCTION_BODIES|XMLOPTION|CLIENT_MIN_MESSAGES|ROW_SECURITY|DEFAULT_TABLESPACE|DEFAULT_TABLE_ACCESS_METHOD|DEFAULT_WITH_OIDS|ESCAPE_STRING_WARNING|SEARCH_PATH) (=|TO) /;
/** pg_dump --inserts: rows as VALUES, nothing read from elsewhere. */
const INSERT_VALUES = /^INSERT INTO [^ (]+( \([^()]*\))?( OVERRIDING (SYSTEM|USER) VALUE)? VALUES ?\(/;

/** Functions that read or write the server's files or connect elsewhere: no Bindu schema calls them. */
const SERVER_ACCESS = 'LO_IMPORT|LO_EXPORT|PG_READ_FILE|PG_READ_BINARY_FILE|PG_LS_DIR|PG_STAT_FILE|PG_FILE_WRITE|DBLINK\\w*';
/**
 * Functions that end or stall other sessions, change settings or run the server: called from a
 * check, a default or a body the loaded rows run, they would act on the live service.
 */
const SERVER_ADMIN = 'PG_TERMINATE_BACKEND|PG_CANCEL_BACKEND|PG_SIGNAL_BACKEND|PG_RELOAD_CONF|PG_ROTATE_LOGFILE|PG_PROMOTE|PG_SWITCH_WAL|PG_CREATE_RESTORE_POINT|PG_SLEEP\\w*|PG_(TRY_)?ADVISORY_\\w+|PG_\\w*REPLICATION_\\w+|PG_LOGICAL_\\w+|PG_BACKUP_\\w+|PG_STAT_RESET\\w*|PG_LOG_BACKEND_MEMORY_CONTEXTS|LO_\\w+|SET_CONFIG|QUERY_TO_XML\\w*|TABLE_TO_XML\\w*|SCHEMA_TO_XML\\w*|DATABASE_TO_XML\\w*|CURSOR_TO_XML\\w*|TS_STAT';
/** A call of one of these functions; or, in an operator or aggregate, its naming as the function to call. */
const called = (names: string) => ({ call: new RegExp(`\\b(${names})\\s*\\(`), named: new RegExp(`\\b(${names})\\b`) });
const ACCESS = called(SERVER_ACCESS);
const ADMIN = called(SERVER_ADMIN);
/** Statements that name a function to call without calling it (FUNCTION = pg_sleep). */
const NAMES_FUNCTIONS = /^CREATE (OR REPLACE )?(OPERATOR|AGGREGATE|TYPE)\b/;
/** A statement that changes, grants on or comments on an object of the system's own schemas (pg_dump of the schemas of a database writes none). */
const SYSTEM_TARGET = /^((ALTER|DROP|COMMENT ON|SECURITY LABEL( FOR \w+)? ON) ([A-Z]+ ){1,3}(IF EXISTS )?(ONLY )?|(GRANT|REVOKE) .* ON ([A-Z]+ ){0,4})"?(PG_CATALOG|INFORMATION_SCHEMA|PG_TOAST)"?\b/;
/** A statement that writes a table of the system catalogs (pg_authid, …), named with or without pg_catalog. */
const CATALOG_WRITE = /\b(INSERT INTO|UPDATE|DELETE FROM|TRUNCATE( TABLE)?|MERGE INTO|ALTER TABLE|DROP TABLE|COPY)( ONLY)? ("?PG_CATALOG"?\s*\.\s*)?"?PG_\w+/;
/**
 * The dynamic SQL Bindu's own helpers (public.create_bindu_tables_in_schema and
 * drop_bindu_tables_in_schema, from its Alembic migrations) run: format() of one fixed statement,
 * in a literal, on a table of the schema their argument names (%I).
 */
const FORMATTED = /\bEXECUTE\s+format\s*\(\s*'((?:[^']|'')*)'\s*((?:,\s*[A-Za-z_]\w*\s*)*)\)\s*;/gi;
const BINDU_DDL = /^(CREATE TABLE IF NOT EXISTS %I\.\w+ \(.*\)|CREATE INDEX IF NOT EXISTS \w+ ON %I\.\w+ (USING \w+ ?)?\([\w, ]+\)|CREATE TRIGGER \w+ BEFORE UPDATE ON %I\.\w+ FOR EACH ROW EXECUTE FUNCTION \w+\(\)|DROP TABLE IF EXISTS %I\.\w+( CASCADE)?)$/i;

/** The only function calls pg_dump's scripts make at top level. */
const SELECT_ALLOWED = /^SELECT PG_CATALOG\.(SET_CONFIG\('', '', (FALSE|TRUE)\)|SETVAL\('', -?\d+, (FALSE|TRUE)\))$/;
const NAME = '(?:"(?:[^"]|"")+"|[A-Za-z_][\\w$]*)';
const QUALIFIED = `${NAME}(?:\\s*\\.\\s*${NAME})+`;
/**
 * Names that follow these words are the objects a statement makes, changes, reads or calls; a
 * comma list of them (FROM a.x, b.y s; DROP TABLE a.x, b.y) names each.
 */
const OBJECT_NAME = new RegExp(`\\b(?:(?:UPDATE|TRUNCATE|TABLE|VIEW|SEQUENCE|TYPE|DOMAIN|FUNCTION|PROCEDURE|ROUTINE|AGGREGATE|INDEX|ON|ONLY|REFERENCES|INTO|COPY|FROM|JOIN|EXISTS|OWNED BY|COLUMN|SCHEMA|TRIGGER|COLLATION|CONVERSION|CONFIGURATION|DICTIONARY|PARSER|TEMPLATE|CLASS|FAMILY|RULE|POLICY|STATISTICS|OPERATOR|LIKE|PARTITION|PARTITION OF|INHERIT|DEFAULT)\\s+|INHERITS\\s*\\(\\s*)((?:${QUALIFIED}(?:\\s+(?:AS\\s+)?${NAME}(?=\\s*,))?\\s*,\\s*)*${QUALIFIED})`, 'gi');
/** A call of a function named with its schema (CHECK (bob.f(a)), DEFAULT bob.g()): that schema. */
const QUALIFIED_CALL = new RegExp(`(?<![\\w$%."])(${NAME})\\s*\\.\\s*${NAME}\\s*\\(`, 'g');
/** A schema itself named: CREATE/ALTER/DROP SCHEMA, GRANT … ON SCHEMA, IN SCHEMA, SET SCHEMA, WITH SCHEMA. */
const SCHEMA_NAMED = new RegExp(`\\b(?:CREATE|ALTER|DROP|ON|IN|SET|WITH)\\s+SCHEMA\\s+(?:IF\\s+(?:NOT\\s+)?EXISTS\\s+)?(${NAME}(?:\\s*,\\s*${NAME})*)`, 'gi');
/** A search_path set, by SET (a statement, or a function's clause): its list, names or literals. */
const SEARCH_PATH_SET = new RegExp(`\\bSET\\s+search_path\\s*(?:=|TO)\\s*((?:${NAME}|'')(?:\\s*,\\s*(?:${NAME}|''))*)`, 'gi');
const SYSTEM = new Set(['pg_catalog', 'information_schema', 'pg_temp', '$user']);

function unquote(part: string): string {
  const p = part.trim();
  return p.startsWith('"') ? p.slice(1, -1).replace(/""/g, '"') : p.toLowerCase();
}

/** The schema of a qualified name `a.b[.c]` (a), as the server reads it. */
function schemaOf(qualified: string): string {
  return unquote(/^("(?:[^"]|"")+"|[^.\s]+)/.exec(qualified)![1]);
}

/** Why a statement (its skeleton: strings emptied, comments gone) is refused, or undefined. */
function refusal(skeleton: string, bodies: string, literals: string[]): string | undefined {
  // Quoted names are names, whatever they hold ("public; drop" is a schema, not two statements).
  const s = skeleton.replace(/"(?:[^"]|"")*"/g, '"_"').replace(/\s+/g, ' ').trim().toUpperCase();
  if (s === '') return undefined;
  for (const [re, why] of REFUSED) if (re.test(s)) return why;
  if (!PG_DUMP_STATEMENT.test(s)) return 'a statement pg_dump does not write';
  if (s.startsWith('SET ') && !SETTING.test(s)) return 'a setting pg_dump does not write';
  // Other values change how the server reads the rest of the file (\' in a string, multi-byte characters), not as this check reads it.
  const value = (literals[0] ?? s.replace(/^SET \S+ (=|TO) /, '')).toLowerCase();
  if (s.startsWith('SET STANDARD_CONFORMING_STRINGS ') && value !== 'on') return 'standard_conforming_strings other than on, which changes how the rest of the file is read';
  if (s.startsWith('SET CLIENT_ENCODING ') && !/^utf-?8$/.test(value)) return 'a client_encoding other than UTF8, which changes how the rest of the file is read';
  if (s.startsWith('SELECT PG_CATALOG.SET_CONFIG(') && /^(role|session_authorization)$/i.test(literals[0] ?? '')) return 'a role statement';
  if (s.startsWith('SELECT PG_CATALOG.SET_CONFIG(') && literals[0] !== 'search_path') return 'a setting pg_dump does not write';
  if (s.startsWith('DROP ') && /\bCASCADE$/.test(s)) return "DROP … CASCADE, which reaches objects in other schemas (pg_dump --clean never writes it)";
  if (/^(GRANT|REVOKE)\b/.test(s) && !/ ON /.test(s)) return 'a role statement';
  // Without IN SCHEMA, they apply to whatever the role makes later, in any schema.
  if (s.startsWith('ALTER DEFAULT PRIVILEGES ') && !/ IN SCHEMA /.test(s)) return "default privileges outside the backup's schemas";
  if (/^(GRANT|REVOKE)\b.* ON (DATABASE|TABLESPACE|PARAMETER|FOREIGN DATA WRAPPER|FOREIGN SERVER|LANGUAGE|LARGE OBJECT)\b/.test(s)) return "a grant outside the backup's schemas";
  if (s.startsWith('INSERT ') && !INSERT_VALUES.test(s)) return "an INSERT other than pg_dump's INSERT … VALUES";
  if (s.startsWith('COPY ') && !/^COPY [^(][^;]* FROM STDIN$/.test(s)) return 'COPY other than FROM stdin (PROGRAM, or a server file)';
  if (s.startsWith('SELECT ') && !SELECT_ALLOWED.test(s)) return 'a query pg_dump does not write';
  if (/^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE)\b/.test(s) && / LANGUAGE (?!SQL\b|PLPGSQL\b)"?\w+/.test(s)) return 'a function in a language other than SQL and PL/pgSQL';
  // Bindu's dynamic SQL passes because its format() is the built-in one.
  if (/^CREATE (OR REPLACE )?FUNCTION ([^ (]+\.)?"?FORMAT"? ?\(/i.test(skeleton.replace(/\s+/g, ' ').trim())) return 'a function named format, which would stand in for the built-in one';
  // Function bodies run later (a trigger fires on the rows this very restore loads). Under a
  // search_path of its own, format() might not be the built-in one.
  const b = (/\bSET\s+search_path\b/i.test(skeleton) ? bodies : withoutBinduDdl(bodies)).replace(/\s+/g, ' ').toUpperCase();
  if (/\bCOPY\b/.test(b)) return 'a function body running COPY (… PROGRAM, or a server file)';
  if (/\bALTER SYSTEM\b/.test(b)) return 'a function body running ALTER SYSTEM';
  // A name can be spelled in Unicode escapes (U&"lo\005fexport"), which no check could read.
  if (/\bU&"/i.test(skeleton) || /\bU&"/i.test(bodies)) return 'a Unicode-escaped name (U&"…"), which pg_dump never writes';
  // Server files and other servers, from a default, a check or a body that the rows loaded run;
  // a quoted name ("lo_export") is the same function.
  const unquoted = (text: string) => text.replace(/"((?:[^"]|"")*)"/g, (_, name: string) => name.replace(/""/g, '"')).replace(/\s+/g, ' ').toUpperCase();
  const top = unquoted(skeleton);
  const namesFunctions = NAMES_FUNCTIONS.test(s);
  if (ACCESS.call.test(top) || ACCESS.call.test(unquoted(bodies)) || (namesFunctions && ACCESS.named.test(top))) return 'a call reading or writing server files, or reaching another server';
  // pg_dump's own top-level set_config (search_path, …) is a SELECT that SELECT_ALLOWED let through.
  const topLevel = top.trim().replace(/^SELECT PG_CATALOG\.SET_CONFIG ?\(/, 'SELECT (');
  if (ADMIN.call.test(topLevel) || ADMIN.call.test(unquoted(bodies)) || (namesFunctions && ADMIN.named.test(top))) return "a call acting on the server's other sessions or its administration";
  if (CATALOG_WRITE.test(top)) return 'a statement writing the system catalogs';
  if (SYSTEM_TARGET.test(top.replace(/\s+/g, ' ').trim())) return "a change to an object of the system's own schemas (pg_catalog, information_schema)";
  if (CATALOG_WRITE.test(unquoted(bodies))) return 'a function body writing the system catalogs';
  // Dynamic SQL can run anything the checks above would refuse, built from a string at run time.
  if (/\bEXECUTE\b/.test(b.replace(/\bFOR EACH (ROW|STATEMENT) EXECUTE (FUNCTION|PROCEDURE)\b/g, ''))) return 'a function body running dynamic SQL (EXECUTE)';
  if (/\b(CREATE|ALTER|DROP) (ROLE|USER|GROUP|DATABASE)\b|\bSET (SESSION |LOCAL )?(ROLE|SESSION AUTHORIZATION)\b/.test(b)) return 'a function body running a role or database statement';
  return undefined;
}

/** The body without the EXECUTEs of the form Bindu's own helpers use, each checked as the statement it builds. */
function withoutBinduDdl(bodies: string): string {
  return bodies.replace(FORMATTED, (all, literal: string) => {
    const statement = literal.replace(/''/g, "'").replace(/\s+/g, ' ').trim();
    // Bindu's own drop helper ends in CASCADE, which BINDU_DDL allows there (and only there).
    const onlyTable = statement.replace(/%I/g, '').replace(/ CASCADE$/i, '');
    const harmless = BINDU_DDL.test(statement) && !/[;%]/.test(onlyTable) && refusal(onlyTable, '', []) === undefined;
    return harmless ? ' ' : all;
  });
}

const listed = (list: string) => list.match(new RegExp(NAME, 'g'))!.map(unquote);

/**
 * The schemas a statement names: objects in them (setval's sequence included), the schemas it
 * makes, changes or grants on, and its search_path (where its unqualified names go).
 */
function schemasNamed(skeleton: string, literals: string[]): string[] {
  const out: string[] = [];
  for (const m of skeleton.matchAll(OBJECT_NAME)) for (const q of m[1].matchAll(new RegExp(QUALIFIED, 'g'))) out.push(schemaOf(q[0]));
  for (const m of skeleton.matchAll(QUALIFIED_CALL)) out.push(unquote(m[1]));
  for (const m of skeleton.matchAll(SCHEMA_NAMED)) out.push(...listed(m[1]));
  // The skeleton holds '' for each literal, in order: the n-th is literals[n].
  const literalAt = (at: number) => literals[(skeleton.slice(0, at).replace(/"(?:[^"]|"")*"/g, '').match(/''/g) ?? []).length] ?? '';
  for (const m of skeleton.matchAll(SEARCH_PATH_SET)) {
    const start = m.index + m[0].length - m[1].length;
    for (const item of m[1].matchAll(new RegExp(`${NAME}|''`, 'g'))) out.push(...(item[0] === "''" ? literalAt(start + item.index).split(',').map(unquote).filter(Boolean) : [unquote(item[0])]));
  }
  if (/^\s*SELECT\s+pg_catalog\.set_config\s*\(/i.test(skeleton) && literals[0] === 'search_path') out.push(...(literals[1] ?? '').split(',').map(unquote).filter(Boolean));
  if (/^\s*SELECT\s+pg_catalog\.setval\s*\(/i.test(skeleton) && literals[0]) out.push(schemaOf(literals[0]));
  return out.filter((s) => !SYSTEM.has(s));
}

/**
 * Whether a `;` is inside a routine's SQL-standard body (BEGIN ATOMIC … END), as psql reads it:
 * BEGIN and CASE open, END closes. That body is part of the statement, and checked with it.
 */
function insideAtomic(skeleton: string): boolean {
  if (!/^\s*CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\b/i.test(skeleton) || !/\bBEGIN\s+ATOMIC\b/i.test(skeleton)) return false;
  const words = skeleton.replace(/"(?:[^"]|"")*"/g, '').match(/\b(BEGIN|CASE|END)\b/gi) ?? [];
  return words.reduce((depth, w) => depth + (/^END$/i.test(w) ? -1 : 1), 0) > 0;
}

const refuse = (origin: string, line: number, what: string, text: string) =>
  new RefusedError(
    `${origin} line ${line}: refused ${what} (${text.trim().replace(/\s+/g, ' ').slice(0, 80)}); nothing was restored`,
    'a backup file is checked before it runs: only what pg_dump writes for the schemas the file declares is allowed',
  );

const TERMINATOR = Buffer.from('\\.\n');

/** A character the server reads as part of a name ($ and every non-ASCII character included). */
const IDENT_CHAR = /[\w$\u0080-\uffff]/;

/**
 * A function body without its comments (pg_read_file/**\/( is a call). Its strings, escaped
 * (E'\'') and dollar-quoted ones too, are kept whole: a -- inside one is no comment.
 */
const BODY_TOKEN = /(?<![\w$\u0080-\uffff])[Ee]'(?:[^'\\]|''|\\[\s\S])*'|'(?:[^']|'')*'|"(?:[^"]|"")*"|(?<![\w$\u0080-\uffff])\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$[\s\S]*?\$\1\$|--[^\n\r]*|\/\*[\s\S]*?\*\//g;
function withoutComments(body: string): string {
  return body.replace(BODY_TOKEN, (m) => (m.startsWith('--') || m.startsWith('/*') ? ' ' : m));
}

/** How much of a file's start is searched for binary data. */
const BINARY_SNIFF = 64 << 10;

const countLines = (buf: Buffer) => {
  let n = 0;
  for (let at = buf.indexOf(10); at !== -1; at = buf.indexOf(10, at + 1)) n++;
  return n;
};

const notAScript = (origin: string, line: number) =>
  new RefusedError(`${origin} is not a SQL script or a pg_dump archive (binary data on line ${line}); nothing was restored`, 'restore reads backups made by bindu-db backup or pg_dump: plain, gzip or custom format');

type State = 'normal' | 'single' | 'escape' | 'double' | 'dollar' | 'line-comment' | 'block-comment';

/**
 * Reads a plain script (or the one pg_restore makes of an archive) once, in bounded memory:
 * COPY rows are skipped with a byte search, never parsed. Throws a RefusedError naming the first
 * line that is refused, or an OperationError when the script is incomplete.
 */
export async function vetScript(source: AsyncIterable<Buffer>, origin: string): Promise<VettedScript> {
  const entries: DumpEntry[] = [];
  const named: { schema: string; line: number; text: string; writes: boolean }[] = [];
  let manifest: Manifest | undefined;
  let restrictKey: string | undefined;
  let bodyEnd: number | undefined; // byte offset of the trailing \unrestrict line, or of the manifest
  let afterUnrestrict = false;
  let complete = false; // past pg_dump's "dump complete" trailer
  let lineNo = 0;
  let offset = 0; // of the current line's start
  let inCopy = false;
  let midRow = false; // inside COPY rows, the current line began in an earlier chunk
  // The statement being read.
  let state: State = 'normal';
  let dollarTag = '';
  let depth = 0;
  let skeleton = '';
  let bodies = '';
  let literal = '';
  const literals: string[] = [];
  let raw = '';
  let startLine = 0;

  const endStatement = () => {
    // The statement starts at its first line that is not blank or a comment: name that line.
    const lead = /^(?:[ \t]*(?:--[^\n\r]*)?\n)*/.exec(raw)![0];
    const text = raw.slice(lead.length);
    startLine += lead.split('\n').length - 1;
    // A routine's body may be quoted ('…', E'…') rather than dollar-quoted: it runs the same.
    const body = withoutComments(/^\s*CREATE\s+(OR\s+REPLACE\s+)?(FUNCTION|PROCEDURE)\b/i.test(skeleton) ? [bodies, ...literals].join('\n') : bodies);
    const why = refusal(skeleton, body, literals);
    if (why) throw refuse(origin, startLine, why, text);
    for (const schema of schemasNamed(skeleton, literals)) named.push({ schema, line: startLine, text, writes: true });
    // What a body names must be declared too, but is not written by this restore.
    for (const schema of schemasNamed(body, [])) named.push({ schema, line: startLine, text, writes: false });
    inCopy = /^\s*COPY\b.*\bFROM\s+stdin\s*$/is.test(skeleton);
    skeleton = bodies = raw = '';
    literals.length = 0;
  };

  const onLine = (line: string) => {
    lineNo++;
    // bindu-db's manifest is the file's last line, after everything psql is given.
    const trailing = complete && state === 'normal' && skeleton.trim() === '' ? parseManifestLine(line) : undefined;
    if (trailing) {
      manifest = trailing;
      bodyEnd ??= offset;
      return;
    }
    if (afterUnrestrict && line.trim() !== '') throw refuse(origin, lineNo, 'anything after the closing \\unrestrict', line);
    if (line.startsWith(COMPLETE_MARK) && state === 'normal' && skeleton.trim() === '') complete = true;
    if (state === 'normal' && skeleton.trim() === '') {
      if (line.startsWith('-- ')) {
        const entry = parseHeaderLine(line);
        if (entry) entries.push(entry);
      }
    }
    // Restore rewrites such lines of the head as whole statements: one that starts inside a
    // string or a statement, or goes on past its line, would change what runs.
    const rewritten = rewriteHeadLine(line, { targetMajor: 0 }) !== line;
    const atStatementStart = state === 'normal' && skeleton.trim() === '';
    let i = 0;
    // The statement's text starts here; endStatement then steps over its leading blank and comment lines.
    if (raw === '') startLine = lineNo;
    raw += `${line}\n`;
    for (; i < line.length; i++) {
      const c = line[i];
      switch (state) {
        case 'normal':
          if (c === '\\') {
            // psql reads the rest of the line as a meta-command.
            const meta = line.slice(i).trim();
            const restrict = /^\\restrict\s+(\S+)$/.exec(meta);
            const unrestrict = /^\\unrestrict\s+(\S+)$/.exec(meta);
            if (restrict && restrictKey === undefined && entries.length === 0 && named.length === 0 && skeleton.trim() === '') restrictKey = restrict[1];
            else if (unrestrict && restrictKey !== undefined && unrestrict[1] === restrictKey && skeleton.trim() === '') {
              bodyEnd = offset;
              afterUnrestrict = true;
            } else throw refuse(origin, lineNo, `the psql meta-command ${meta.split(/\s/)[0]}`, meta);
            raw = raw.slice(0, -(line.length + 1));
            i = line.length;
            break;
          }
          if (c === "'") {
            state = (line[i - 1] === 'E' || line[i - 1] === 'e') && !IDENT_CHAR.test(line[i - 2] ?? '') ? 'escape' : 'single';
            literal = '';
            skeleton += "''";
          } else if (c === '"') {
            state = 'double';
            skeleton += c;
          } else if (c === '-' && line[i + 1] === '-') {
            state = 'line-comment';
          } else if (c === '/' && line[i + 1] === '*') {
            state = 'block-comment';
            depth = 1;
            i++;
          } else if (c === '$' && !IDENT_CHAR.test(line[i - 1] ?? '')) {
            const tag = /^\$([A-Za-z_\u0080-\uffff][\w\u0080-\uffff]*)?\$/.exec(line.slice(i));
            if (tag) {
              state = 'dollar';
              dollarTag = tag[0];
              skeleton += '$$'; // not '', which marks a literal
              i += tag[0].length - 1;
            } else skeleton += c;
          } else if (c === ':' && line[i - 1] !== ':' && line[i + 1] !== ':' && /[A-Za-z_'"{\u0080-\uffff]/.test(line[i + 1] ?? '')) {
            // psql replaces :name, :'name', :"name" with its variables before the server reads the text.
            throw refuse(origin, lineNo, 'a psql variable (:name)', line);
          } else if (c === ';' && insideAtomic(skeleton)) {
            skeleton += c;
          } else if (c === ';') {
            endStatement();
            if (inCopy) return; // rows follow from the next line
          } else skeleton += c;
          break;
        case 'single':
        case 'escape':
          if (state === 'escape' && c === '\\') {
            literal += line[i + 1] ?? '';
            i++;
          } else if (c === "'") {
            if (line[i + 1] === "'") {
              literal += "'";
              i++;
            } else {
              state = 'normal';
              literals.push(literal);
            }
          } else literal += c;
          break;
        case 'double':
          skeleton += c;
          if (c === '"') state = line[i + 1] === '"' ? ((skeleton += '"'), i++, 'double') : 'normal';
          break;
        case 'dollar':
          if (c === '$' && line.startsWith(dollarTag, i)) {
            state = 'normal';
            i += dollarTag.length - 1;
          } else bodies += c;
          break;
        case 'block-comment':
          if (c === '*' && line[i + 1] === '/') {
            depth--;
            i++;
            if (depth === 0) state = 'normal';
          } else if (c === '/' && line[i + 1] === '*') {
            depth++;
            i++;
          }
          break;
        case 'line-comment': {
          // psql and the server end it at a carriage return too.
          const cr = line.indexOf('\r', i);
          if (cr === -1) i = line.length;
          else {
            state = 'normal';
            i = cr;
          }
          break;
        }
      }
    }
    if (rewritten && (!atStatementStart || (state !== 'normal' && state !== 'line-comment') || skeleton.trim() !== '')) throw refuse(origin, lineNo, 'a line restore would rewrite that is not a whole statement', line);
    if (state === 'line-comment') state = 'normal';
    if (state === 'normal') skeleton += '\n';
    else if (state === 'dollar') bodies += '\n';
    else if (state === 'single' || state === 'escape') literal += '\n';
    else if (state === 'double') skeleton += '\n';
  };

  let pending = Buffer.alloc(0);
  let headSeen = 0; // bytes of the file's start searched for a NUL
  let headLines = 0;
  for await (const chunk of source) {
    if (headSeen < BINARY_SNIFF) {
      // No text psql reads holds a NUL byte: this is not a script at all, which says more than the first odd line it happens to hold.
      const part = chunk.subarray(0, BINARY_SNIFF - headSeen);
      const nul = part.indexOf(0);
      if (nul !== -1) throw notAScript(origin, headLines + countLines(part.subarray(0, nul)) + 1);
      headSeen += part.length;
      headLines += countLines(part);
    }
    let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    for (;;) {
      if (inCopy) {
        // Rows end at a line `\.`; nothing in them is read, their newlines only counted (one
        // memchr pass). A row cut by the chunk's end is passed over, not kept: only the first
        // bytes of a line could make it the end.
        let ended = false;
        while (start < buf.length) {
          if (!midRow && buf.length - start < 3) {
            if (TERMINATOR.subarray(0, buf.length - start).equals(buf.subarray(start))) break; // maybe the end: decided with the next chunk
          } else if (!midRow && buf[start] === 0x5c && buf[start + 1] === 0x2e && buf[start + 2] === 0x0a) {
            lineNo++;
            offset += 3;
            start += 3;
            ended = true;
            break;
          }
          const nl = buf.indexOf(10, start);
          const upTo = nl === -1 ? buf.length : nl + 1;
          offset += upTo - start;
          start = upTo;
          midRow = nl === -1;
          if (!midRow) lineNo++;
        }
        if (!ended) break;
        inCopy = false;
        continue;
      }
      const nl = buf.indexOf(10, start);
      if (nl === -1) break;
      const line = buf.toString('utf8', start, nl);
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
      offset += nl + 1 - start;
      start = nl + 1;
    }
    pending = Buffer.from(buf.subarray(start));
    buf = pending;
  }
  if (pending.length) {
    if (inCopy) throw incompleteError();
    onLine(pending.toString('utf8'));
    offset += pending.length;
  }
  if (inCopy || !complete) throw incompleteError();
  if (state !== 'normal' || skeleton.trim() !== '') throw refuse(origin, startLine, 'an unfinished statement', raw);
  const declared = manifest?.schemas ?? [...new Set(entries.map((e) => (e.type === 'SCHEMA' ? e.name : e.schema)).filter((s): s is string => s !== null && !SYSTEM.has(s)))];
  const outside = named.find((n) => !declared.includes(n.schema));
  if (outside) throw refuse(origin, outside.line, `an object in schema "${outside.schema}", which the file does not declare`, outside.text);
  const written = [...new Set(named.filter((n) => n.writes).map((n) => n.schema))];
  // A header or manifest is a comment: a body may name only schemas the file's statements restore.
  const unwritten = named.find((n) => !n.writes && !written.includes(n.schema));
  if (unwritten) throw refuse(origin, unwritten.line, `a function body naming schema "${unwritten.schema}", which the file does not restore`, unwritten.text);
  return { entries, schemas: declared, written, manifest, bodyEnd: bodyEnd ?? offset };
}
