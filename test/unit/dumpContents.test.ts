import { Readable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { cleanSet, cleanStatements, countTasksStatement, createSchemaStatements, parseTasksCount, truncateStatement } from '../../src/db/restoreQueries.js';
import { vetScript } from '../../src/core/restore/vet.js';
import { isDataOnly, isSchemaEntry, parseHeaderLine, parseTocLine } from '../../src/lib/dumpContents.js';
import { dropEntries } from '../../src/lib/sqlScript.js';

describe('what a dump holds', () => {
  test.each([
    ['-- Name: tasks; Type: TABLE; Schema: public; Owner: -', { type: 'TABLE', schema: 'public', name: 'tasks' }],
    ['-- Name: set_updated_at(); Type: FUNCTION; Schema: did_x; Owner: -', { type: 'FUNCTION', schema: 'did_x', name: 'set_updated_at()' }],
    ['-- Name: did_x; Type: SCHEMA; Schema: -; Owner: -', { type: 'SCHEMA', schema: null, name: 'did_x' }],
    ['-- Data for Name: tasks; Type: TABLE DATA; Schema: public; Owner: -', { type: 'TABLE DATA', schema: 'public', name: 'tasks' }],
    ['-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -', { type: 'CONSTRAINT', schema: 'public', name: 'tasks tasks_pkey' }],
    ['-- Name: a\u2028b; Type: SCHEMA; Schema: -; Owner: -', { type: 'SCHEMA', schema: null, name: 'a\u2028b' }],
    ['SET statement_timeout = 0;', undefined],
  ])('plain header %s', (line, entry) => expect(parseHeaderLine(line)).toEqual(entry));

  test.each([
    ['4; 2615 2200 SCHEMA - public pg_database_owner', { type: 'SCHEMA', schema: null, name: 'public' }],
    ['3420; 0 0 COMMENT - SCHEMA public pg_database_owner', { type: 'COMMENT', schema: null, name: 'SCHEMA public' }],
    ['220; 1255 16409 FUNCTION public set_updated_at() postgres', { type: 'FUNCTION', schema: 'public', name: 'set_updated_at()' }],
    ['221; 1255 16410 FUNCTION s f(integer, text) bob', { type: 'FUNCTION', schema: 's', name: 'f(integer, text)' }],
    ['3421; 0 0 SEQUENCE OWNED BY public bindu_db_migrations_id_seq postgres', { type: 'SEQUENCE OWNED BY', schema: 'public', name: 'bindu_db_migrations_id_seq' }],
    ['3410; 0 16410 TABLE DATA public contexts postgres', { type: 'TABLE DATA', schema: 'public', name: 'contexts' }],
    ['216; 1259 16410 TABLE did_a contexts ', { type: 'TABLE', schema: 'did_a', name: 'contexts' }],
    ['5; 2615 16385 SCHEMA - a\u2028b postgres', { type: 'SCHEMA', schema: null, name: 'a\u2028b' }],
    [';     Format: CUSTOM', undefined],
  ])('pg_restore -l line %s', (line, entry) => expect(parseTocLine(line)).toEqual(entry));

  test('schema entries: those creating or commenting on a schema', () => {
    const entries = ['4; 2615 2200 SCHEMA - did_a x', '5; 1259 1 TABLE did_a tasks x', '6; 1259 2 TABLE public t x', '7; 0 0 COMMENT - EXTENSION plpgsql x', '8; 0 0 COMMENT - SCHEMA did_a x'].map((l) => parseTocLine(l)!);
    expect(entries.map(isSchemaEntry)).toEqual([true, false, false, false, true]);
  });
});

describe('restore --clean statements', () => {
  test('drop what the dump creates in its schemas and the Bindu tables they hold, never a schema', () => {
    const entries = [
      { type: 'SCHEMA', schema: null, name: 'did_a' },
      { type: 'TABLE', schema: 'did_a', name: 'tasks' },
      { type: 'SEQUENCE', schema: 'did_a', name: 'task_feedback_id_seq' },
      { type: 'FUNCTION', schema: 'did_a', name: 'f(integer)' },
      { type: 'TYPE', schema: 'did_a', name: 'mood' },
      { type: 'TABLE', schema: 'elsewhere', name: 'not_ours' },
    ];
    const sql = cleanStatements(cleanSet(entries, [{ schema: 'did_a', tables: ['contexts', 'tasks'], layout: 'bindu-server' }]));
    expect(sql.split('\n').filter(Boolean)).toEqual([
      'DROP TABLE IF EXISTS "did_a"."contexts", "did_a"."tasks" CASCADE;',
      'DROP SEQUENCE IF EXISTS "did_a"."task_feedback_id_seq" CASCADE;',
      'DROP FUNCTION IF EXISTS "did_a"."f"(integer) CASCADE;',
      'DROP TYPE IF EXISTS "did_a"."mood" CASCADE;',
    ]);
    expect(sql).not.toMatch(/DROP SCHEMA|elsewhere/);
  });

  test('a schema of our layout loses our migration log, enum and trigger function too', () => {
    const sql = cleanStatements(cleanSet([], [{ schema: 'public', tables: ['tasks'], layout: 'bindu-db' }]));
    expect(sql).toContain('DROP TABLE IF EXISTS "public"."tasks", "public"."bindu_db_migrations" CASCADE;');
    expect(sql).toContain('DROP FUNCTION IF EXISTS "public"."set_updated_at"() CASCADE;');
    expect(sql).toContain('DROP TYPE IF EXISTS "public"."task_status" CASCADE;');
  });

  test('schemas are made only if missing', () => {
    expect(createSchemaStatements(['public', 'a"b'])).toBe('CREATE SCHEMA IF NOT EXISTS "public";\nCREATE SCHEMA IF NOT EXISTS "a""b";\n');
  });

  test('the task count psql prints before COMMIT, found among the dump\'s own output', () => {
    expect(countTasksStatement(['a', 'b'])).toBe(`select 'bindu-db-tasks:' || ((select count(*) from "a".tasks) + (select count(*) from "b".tasks))`);
    expect(countTasksStatement([])).toBeUndefined();
    expect(parseTasksCount('\n1\nbindu-db-tasks:12\n')).toBe(12);
    expect(parseTasksCount('12\n')).toBeUndefined();
  });
});

describe('data-only dumps', () => {
  const script = [
    '\\restrict abc',
    '-- Data for Name: bindu_db_migrations; Type: TABLE DATA; Schema: public; Owner: -',
    '--',
    'COPY public.bindu_db_migrations (id, name) FROM stdin;',
    '1\tinit',
    '\\.',
    '--',
    '-- Data for Name: tasks; Type: TABLE DATA; Schema: public; Owner: -',
    '--',
    'COPY public.tasks (task_id, note) FROM stdin;',
    '-- Data for Name: not_a_header; Type: TABLE DATA; Schema: public; Owner: -',
    '\\.',
    '--',
    '-- Name: bindu_db_migrations_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -',
    "SELECT pg_catalog.setval('public.bindu_db_migrations_id_seq', 1, true);",
    '-- PostgreSQL database dump complete',
    '\\unrestrict abc',
    '',
  ].join('\n');
  const chunked = () => Readable.from([Buffer.from(script.slice(0, 100)), Buffer.from(script.slice(100, 101)), Buffer.from(script.slice(101))]);

  test('told from the contents: rows and sequence values, no table', () => {
    expect(isDataOnly([{ type: 'TABLE DATA', schema: 'public', name: 'tasks' }, { type: 'SEQUENCE SET', schema: 'public', name: 's' }])).toBe(true);
    expect(isDataOnly([{ type: 'TABLE', schema: 'public', name: 'tasks' }, { type: 'TABLE DATA', schema: 'public', name: 'tasks' }])).toBe(false);
    expect(isDataOnly([{ type: 'TABLE', schema: 'public', name: 'tasks' }])).toBe(false);
    expect(isDataOnly([])).toBe(false);
  });

  test('every entry of the script is read, rows never taken for headers', async () => {
    expect((await vetScript(chunked(), 'data.sql')).entries.map((e) => `${e.type} ${e.name}`)).toEqual(['TABLE DATA bindu_db_migrations', 'TABLE DATA tasks', 'SEQUENCE SET bindu_db_migrations_id_seq']);
  });

  test('entries are left out from their header to the next, rows included', async () => {
    const out: Buffer[] = [];
    for await (const b of dropEntries(chunked(), (e) => e.name.startsWith('bindu_db_migrations'))) out.push(b);
    const text = Buffer.concat(out).toString();
    expect(text).not.toContain('bindu_db_migrations');
    expect(text).toContain('COPY public.tasks (task_id, note) FROM stdin;\n-- Data for Name: not_a_header');
    expect(text.endsWith('-- PostgreSQL database dump complete\n\\unrestrict abc\n')).toBe(true);
    // Each line left out stays as a blank one: psql's line numbers are still the file's.
    expect(text.split('\n').length).toBe(script.split('\n').length);
    expect(text.split('\n').indexOf('COPY public.tasks (task_id, note) FROM stdin;')).toBe(script.split('\n').indexOf('COPY public.tasks (task_id, note) FROM stdin;'));
  });

  test('--clean empties the tables, in one statement, dropping nothing', () => {
    expect(truncateStatement([{ schema: 'public', name: 'contexts' }, { schema: 'a"b', name: 'tasks' }])).toBe('TRUNCATE TABLE "public"."contexts", "a""b"."tasks";\n');
    expect(truncateStatement([])).toBe('');
  });
});
