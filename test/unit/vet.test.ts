import { Readable } from 'node:stream';
import { describe, expect, test } from '@jest/globals';
import { vetScript } from '../../src/core/restore/vet.js';
import { RefusedError } from '../../src/errors.js';

// The untrusted-file check on scripts shaped like pg_dump's, cut into chunks of every size: what it
// refuses (naming the line), what it lets through, and what it learns on the way.

const MANIFEST = '-- bindu-db manifest: {"schemas":["public","Agent X"],"rows":{"public.t":2}}';
const HEAD = [
  '--',
  '-- PostgreSQL database dump',
  '--',
  '',
  '\\restrict k3y',
  '',
  'SET statement_timeout = 0;',
  "SELECT pg_catalog.set_config('search_path', '', false);",
  '',
  '--',
  '-- Name: Agent X; Type: SCHEMA; Schema: -; Owner: -',
  '--',
  '',
  'CREATE SCHEMA "Agent X";',
  '',
  '-- Name: t; Type: TABLE; Schema: public; Owner: -',
  'CREATE TABLE public.t (a integer, b text DEFAULT \'x;\\\\y\'::text);',
  "CREATE FUNCTION \"Agent X\".f() RETURNS trigger LANGUAGE plpgsql AS $_$ begin new.b := 'COMMIT;'; return new; end $_$;",
  'CREATE VIEW public.v AS SELECT t.a FROM public.t ORDER BY t.a;',
  '/* a comment; COMMIT; */ COMMENT ON TABLE public.t IS \'it says COMMIT; and \\\\! in a string\';',
  '-- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: -',
  'COPY public.t (a, b) FROM stdin;',
  '1\tCOMMIT;',
  '2\t\\\\! rm -rf /',
];
const TAIL = ['\\.', '', "SELECT pg_catalog.setval('public.t_seq', 3, true);", 'CREATE INDEX i ON public.t USING btree (a);', '', '--', '-- PostgreSQL database dump complete', '--', '', '\\unrestrict k3y', MANIFEST, ''];
const script = (extra: string[] = [], at = 'tail') => (at === 'tail' ? [...HEAD, ...TAIL.slice(0, 3), ...extra, ...TAIL.slice(3)] : [...HEAD.slice(0, 9), ...extra, ...HEAD.slice(9), ...TAIL]).join('\n');
const chunks = (text: string, size: number) => Readable.from(Array.from({ length: Math.ceil(text.length / size) }, (_, i) => Buffer.from(text.slice(i * size, (i + 1) * size))));

describe('a real script passes', () => {
  test.each([1, 3, 64, 1 << 20])('in chunks of %i bytes', async (size) => {
    const text = script();
    const vetted = await vetScript(chunks(text, size), 'ok.sql');
    expect(vetted.schemas).toEqual(['public', 'Agent X']);
    expect(vetted.manifest).toEqual({ schemas: ['public', 'Agent X'], rows: { 'public.t': 2 } });
    expect(vetted.entries.map((e) => e.type)).toEqual(['SCHEMA', 'TABLE', 'TABLE DATA']);
    // psql is fed up to the closing \unrestrict, never past it.
    expect(text.slice(vetted.bodyEnd)).toBe(`\\unrestrict k3y\n${MANIFEST}\n`);
  });
});

test('a quoted name holding a semicolon is a name: the COPY into it passes', async () => {
  const text = script().replaceAll('Agent X', 'Agent; X').replace('COPY public.t (a, b) FROM stdin;', 'COPY "Agent; X".t (a, b) FROM stdin;');
  expect((await vetScript(chunks(text, 7), 'semi.sql')).schemas).toEqual(['public', 'Agent; X']);
});

test('a refused statement after blank and comment lines is named by its own line', async () => {
  const text = script(['', '--', '-- Name: x; Type: TABLE; Schema: public; Owner: -', '--', '', 'COMMIT;']);
  const lineNo = text.split('\n').indexOf('COMMIT;') + 1;
  await expect(vetScript(chunks(text, 5), 'x.sql')).rejects.toThrow(new RegExp(`^x\\.sql line ${lineNo}: refused transaction control`));
});

describe('refused, naming the line', () => {
  test.each([
    ['\\! touch /tmp/x', /the psql meta-command \\!/],
    ['\\connect other', /the psql meta-command \\connect/],
    ['\\unrestrict k3y', /anything after the closing \\unrestrict/],
    ['COMMIT;', /transaction control/],
    ['  rollback ;', /transaction control/],
    ['SAVEPOINT a;', /transaction control/],
    ['CREATE ROLE evil SUPERUSER;', /role statement/],
    ['SET ROLE postgres;', /role statement/],
    ["SELECT pg_catalog.set_config('role', 'postgres', false);", /role statement/],
    ['CREATE DATABASE other;', /outside the backup's schemas/],
    ["ALTER SYSTEM SET work_mem = '1GB';", /ALTER SYSTEM/],
    ["COPY public.t FROM PROGRAM 'id';", /COPY other than FROM stdin/],
    ["COPY public.t TO '/tmp/x';", /COPY other than FROM stdin/],
    ["DO $$ begin perform 1; end $$;", /pg_dump does not write/],
    ['SELECT public.f();', /a query pg_dump does not write/],
    ["CREATE FUNCTION public.g() RETURNS int LANGUAGE c AS '/lib/x.so', 'g';", /language other than SQL/],
    ["CREATE FUNCTION public.h() RETURNS void LANGUAGE plpgsql AS $$ begin copy public.t to program 'id'; end $$;", /function body running COPY/],
    ["CREATE FUNCTION public.e() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN EXECUTE convert_from(decode('Q09QWQ==', 'base64'), 'UTF8'); RETURN NEW; END$$;", /function body running dynamic SQL/],
    ["CREATE FUNCTION public.r() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN CREATE ROLE evil SUPERUSER; RETURN NEW; END$$;", /function body running a role or database statement/],
    ["CREATE TABLE public.u (a int, b text DEFAULT pg_catalog.pg_read_file('/etc/passwd'));", /server files/],
    ["CREATE FUNCTION public.w() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM lo_export(1, '/tmp/x'); RETURN NEW; END$$;", /server files/],
    // The same calls under a quoted name, which PostgreSQL resolves to the same function.
    ["CREATE FUNCTION public.q() RETURNS boolean LANGUAGE plpgsql AS $$BEGIN PERFORM pg_catalog.\"lo_export\"(1, '/tmp/x'); RETURN true; END$$;", /server files/],
    ['CREATE TABLE public.v (a int, b text DEFAULT "pg_read_file"(\'/etc/passwd\'));', /server files/],
    // A Unicode-escaped name (U&"lo\005fexport") can spell any of them; pg_dump never writes one.
    ["CREATE FUNCTION public.z() RETURNS boolean LANGUAGE plpgsql AS $$BEGIN PERFORM U&\"lo\\005fexport\"(1, '/tmp/x'); RETURN true; END$$;", /Unicode-escaped name/],
    ['CREATE TABLE public.y (a int CHECK (U&"f\\0030"(a)));', /Unicode-escaped name/],
    ['CREATE TABLE elsewhere.t (a int);', /schema "elsewhere"/],
    ['ALTER TABLE ONLY public.t ADD CONSTRAINT f FOREIGN KEY (a) REFERENCES other.x(a);', /schema "other"/],
    ["SELECT pg_catalog.setval('other.s', 1, true);", /schema "other"/],
    ['SELECT 1; \\! id', /refused/],
    // Function bodies a constraint, default or trigger runs while the rows load: the same rules.
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ UPDATE pg_catalog.pg_authid SET rolpassword = NULL RETURNING 1 $$;", /function body writing the system catalogs/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ DELETE FROM pg_authid; SELECT 1 $$;", /function body writing the system catalogs/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity $$;", /server's other sessions or its administration/],
    ['CREATE TABLE public.s (a int CHECK (pg_catalog.pg_cancel_backend(a)));', /server's other sessions or its administration/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ SELECT pg_sleep(3600)::text::int $$;", /server's other sessions or its administration/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE plpgsql AS $$ BEGIN PERFORM set_config('session_replication_role', 'replica', false); RETURN 1; END $$;", /server's other sessions or its administration/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ DELETE FROM elsewhere.tasks; SELECT 1 $$;", /schema "elsewhere"/],
    ["CREATE FUNCTION public.k() RETURNS int LANGUAGE sql AS $$ UPDATE elsewhere.tasks SET a = 1; SELECT 1 $$;", /schema "elsewhere"/],
    // Dynamic SQL other than the statements Bindu's own helpers build.
    ["CREATE FUNCTION public.k(s text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('DROP SCHEMA %I CASCADE', s); END $$;", /function body running dynamic SQL/],
    ["CREATE FUNCTION public.k(s text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS %I.t (a int); DROP SCHEMA other CASCADE', s); END $$;", /function body running dynamic SQL/],
    ["CREATE FUNCTION public.k(s text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE TABLE IF NOT EXISTS %I.t (a text DEFAULT pg_read_file(''/etc/passwd''))', s); END $$;", /server files/],
    ["CREATE FUNCTION public.k(s text) RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE format('CREATE INDEX IF NOT EXISTS i ON %s.t (a)', s); END $$;", /function body running dynamic SQL/],
    // A body in quotes ('…', E'…') runs the same as one in dollar quotes.
    ["CREATE FUNCTION public.g() RETURNS trigger LANGUAGE plpgsql AS 'begin perform pg_catalog.pg_sleep(3); return new; end';", /server's other sessions or its administration/],
    ["CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS E'UPDATE pg_authid SET rolsuper = true RETURNING 1';", /function body writing the system catalogs/],
    ["CREATE FUNCTION public.g() RETURNS int LANGUAGE sql AS 'SELECT count(*)::int FROM bob.secret';", /schema "bob"/],
    // Statements that write the system catalogs, or that pg_dump never starts a statement with.
    ["INSERT INTO pg_catalog.pg_description (objoid, classoid, objsubid, description) VALUES (2, 1259, 0, 'x');", /writing the system catalogs/],
    ['COPY pg_catalog.pg_description (objoid, classoid, objsubid, description) FROM stdin;', /writing the system catalogs/],
    ['INSERT INTO public.t SELECT 1;', /an INSERT other than pg_dump's INSERT … VALUES/],
    ['WITH a AS (UPDATE pg_catalog.pg_authid SET rolsuper = true RETURNING 1) INSERT INTO public.t SELECT 1 FROM a;', /a statement pg_dump does not write/],
    ['VALUES (1);', /a statement pg_dump does not write/],
    ['EXPLAIN ANALYZE SELECT 1;', /a statement pg_dump does not write/],
    ['TABLE public.t;', /a statement pg_dump does not write/],
    ['REINDEX SCHEMA public;', /a statement pg_dump does not write/],
    ['SET allow_system_table_mods = on;', /a setting pg_dump does not write/],
    ["SELECT pg_catalog.set_config('session_replication_role', 'replica', false);", /a setting pg_dump does not write/],
    // A schema the file does not declare, however it is named.
    ['DROP SCHEMA bob;', /schema "bob"/],
    ['DROP SCHEMA IF EXISTS bob;', /schema "bob"/],
    ['ALTER SCHEMA bob RENAME TO gone;', /schema "bob"/],
    ['ALTER TABLE public.t SET SCHEMA bob;', /schema "bob"/],
    ['GRANT USAGE ON SCHEMA public, bob TO PUBLIC;', /schema "bob"/],
    ['GRANT SELECT ON ALL TABLES IN SCHEMA bob TO PUBLIC;', /schema "bob"/],
    ["COMMENT ON SCHEMA bob IS 'x';", /schema "bob"/],
    ['SET search_path = bob, pg_catalog;', /schema "bob"/],
    ["SELECT pg_catalog.set_config('search_path', 'public, bob', false);", /schema "bob"/],
    ["CREATE FUNCTION public.k() RETURNS void LANGUAGE plpgsql SET search_path TO 'bob' AS $$ BEGIN DROP TABLE tasks; END $$;", /schema "bob"/],
    ['CREATE TABLE public.c (LIKE bob.secret);', /schema "bob"/],
    ['CREATE TABLE public.c () INHERITS (bob.secret);', /schema "bob"/],
    ['CREATE TABLE public.c PARTITION OF bob.secret FOR VALUES IN (1);', /schema "bob"/],
    ['CREATE TABLE public.c (a int DEFAULT bob.f());', /schema "bob"/],
    // A blocked function named without a call: as an operator's, aggregate's or cast's function.
    ['CREATE OPERATOR public.!!! (RIGHTARG = double precision, FUNCTION = pg_catalog.pg_sleep);', /server's other sessions or its administration/],
    ['CREATE AGGREGATE public.a(double precision) (SFUNC = pg_sleep, STYPE = void);', /server's other sessions or its administration/],
    ['CREATE OPERATOR public.### (LEFTARG = text, RIGHTARG = text, PROCEDURE = pg_read_file);', /server files/],
    // Bindu's dynamic SQL is allowed because format() is the built-in one: not under another search_path, and never redefined.
    ['CREATE FUNCTION public.at() RETURNS void LANGUAGE sql BEGIN ATOMIC SELECT pg_catalog.pg_sleep(10); END;', /server's other sessions or its administration/],
    ['CREATE PROCEDURE public.at() LANGUAGE sql BEGIN ATOMIC DELETE FROM bob.secret; END;', /schema "bob"/],
    // The system's own objects: owned, granted or commented on by nobody's backup.
    ['GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_waldir() TO PUBLIC;', /an object of the system's own schemas/],
    ['GRANT SELECT ON ALL TABLES IN SCHEMA pg_catalog TO PUBLIC;', /an object of the system's own schemas/],
    ['ALTER FUNCTION pg_catalog.now() OWNER TO evil;', /an object of the system's own schemas/],
    ['ALTER TABLE information_schema.sql_features OWNER TO evil;', /an object of the system's own schemas/],
    ["COMMENT ON TABLE \"pg_catalog\".pg_class IS 'x';", /an object of the system's own schemas/],
    ['ALTER SCHEMA pg_catalog OWNER TO evil;', /an object of the system's own schemas/],
    // pg_dump --clean drops in order, never CASCADE, which would reach dependents in other schemas.
    ['DROP TABLE public.t CASCADE;', /DROP … CASCADE/],
    // Grants of roles, or on the database and what it holds beyond schemas.
    ['GRANT postgres TO PUBLIC;', /a role statement/],
    ['GRANT pg_read_server_files TO evil WITH ADMIN OPTION;', /a role statement/],
    ['GRANT ALL ON DATABASE postgres TO PUBLIC;', /a grant outside the backup's schemas/],
    ['GRANT SET ON PARAMETER allow_system_table_mods TO PUBLIC;', /a grant outside the backup's schemas/],
    // Database-wide: tables published to any subscriber, privileges on whatever any schema makes later.
    // Found by an adversarial pass: text psql and the server read differently from a plain scan.
    ["-- a comment\rCOPY (SELECT 1) TO PROGRAM 'id';", /COPY other than FROM stdin/],
    ["SELECT pg_catalog.set_config('search_path', '', false) AS é$$;", /a query pg_dump does not write/],
    ['SET standard_conforming_strings = off;', /standard_conforming_strings other than on/],
    ["SET client_encoding = 'SJIS';", /client_encoding other than UTF8/],
    ['SELECT :DBNAME;', /a psql variable/],
    ["COMMENT ON SCHEMA public IS 'x", /a line restore would rewrite/],
    ["SELECT pg_catalog.setval('public.s', 1, true), public.x();", /a query pg_dump does not write/],
    ["SELECT pg_catalog.set_config('search_path', '', false), pg_catalog.query_to_xml('select 1', true, false, '');", /a query pg_dump does not write/],
    ['CREATE CAST (integer AS text) WITH FUNCTION public.evil(integer) AS ASSIGNMENT;', /outside the backup's schemas/],
    ['DROP TABLE IF EXISTS public.old, bob.secret;', /schema "bob"/],
    ['GRANT ALL ON TABLE public.t, bob.secret TO PUBLIC;', /schema "bob"/],
    ['CREATE VIEW public.leak AS SELECT s.* FROM public.t, bob.secret s;', /schema "bob"/],
    ['DROP ROUTINE bob.f(integer);', /schema "bob"/],
    ['CREATE TABLE public.c (a int CHECK (bob.f(a)));', /schema "bob"/],
    ["CREATE FUNCTION public.x() RETURNS void LANGUAGE sql AS $$ COPY (SELECT ';') TO '/tmp/x' $$;", /function body running COPY/],
    ["CREATE FUNCTION public.x() RETURNS text LANGUAGE sql AS $$ SELECT pg_catalog.pg_read_file/**/('/etc/passwd') $$;", /server files/],
    ["CREATE FUNCTION public.x() RETURNS void LANGUAGE sql AS $$ DELETE FROM/**/bob.secret $$;", /schema "bob"/],
    ["CREATE FUNCTION public.x() RETURNS void LANGUAGE plpgsql AS $$ DECLARE function text := 'SELECT 1'; BEGIN EXECUTE function; END $$;", /dynamic SQL/],
    ["CREATE FUNCTION public.x() RETURNS xml LANGUAGE sql AS $$ SELECT schema_to_xml('bob', true, false, '') $$;", /server's other sessions or its administration/],
    // A -- inside an E'' or dollar-quoted string of a body is no comment: what follows it is still read.
    ["CREATE FUNCTION public.x() RETURNS void LANGUAGE sql AS $$ SELECT E'\\' -- ', pg_catalog.pg_sleep(10) $$;", /server's other sessions or its administration/],
    ["CREATE FUNCTION public.x() RETURNS void LANGUAGE plpgsql AS $f$ BEGIN PERFORM $q$ -- $q$, pg_catalog.pg_sleep(10); END $f$;", /server's other sessions or its administration/],
    ['CREATE PUBLICATION everything FOR ALL TABLES;', /outside the backup's schemas/],
    ['ALTER PUBLICATION p ADD TABLE public.t;', /outside the backup's schemas/],
    ['ALTER DEFAULT PRIVILEGES GRANT ALL ON TABLES TO PUBLIC;', /default privileges outside the backup's schemas/],
    ['ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT ALL ON FUNCTIONS TO PUBLIC;', /default privileges outside the backup's schemas/],
    ['ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA bob GRANT SELECT ON TABLES TO PUBLIC;', /schema "bob"/],
    ["CREATE FUNCTION public.format(text, text) RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$;", /a function named format/],
    ["CREATE FUNCTION public.k(s text) RETURNS void LANGUAGE plpgsql SET search_path = public, pg_catalog AS $$ BEGIN EXECUTE format('DROP TABLE IF EXISTS %I.t', s); END $$;", /function body running dynamic SQL/],
  ])('%s', async (line, why) => {
    const text = script([line]);
    const lineNo = text.split('\n').indexOf(line) + 1;
    for (const size of [1, 7, 1 << 20]) {
      const err = await vetScript(chunks(text, size), 'x.sql').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toMatch(new RegExp(`^x\\.sql line ${why.source.includes('after the closing') ? '\\d+' : lineNo}: refused `));
      expect((err as Error).message).toMatch(why);
    }
  });

  test('a meta-command before the script\'s own \\restrict, or a second \\restrict', async () => {
    await expect(vetScript(chunks(script(['\\restrict other'], 'head'), 64), 'x.sql')).rejects.toThrow(/line 10: refused the psql meta-command \\restrict/);
  });

  test('random bytes, or a binary file: not a script, said so, in chunks of any size', async () => {
    const bytes = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)); // every byte value, NUL among them
    const text = Buffer.concat([Buffer.from('--\n-- not a dump\n'), bytes]);
    const line = text.subarray(0, text.indexOf(0)).toString('latin1').split('\n').length;
    expect(line).toBeGreaterThanOrEqual(3);
    for (const size of [1, 64, 1 << 20]) {
      const err = await vetScript(Readable.from(Array.from({ length: Math.ceil(text.length / size) }, (_, i) => text.subarray(i * size, (i + 1) * size))), 'x.sql').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RefusedError);
      expect((err as Error).message).toBe(`x.sql is not a SQL script or a pg_dump archive (binary data on line ${line}); nothing was restored`);
    }
  });

  test('a truncated script: incomplete, not refused', async () => {
    const text = script();
    await expect(vetScript(chunks(text.slice(0, text.indexOf('2\t')), 64), 'x.sql')).rejects.toThrow(/incomplete/);
  });
});

// Bindu's Alembic (20260119_0001) makes these in public: dynamic SQL that builds one fixed
// statement on the schema its argument names. A backup of a real server holds them.
const BINDU_HELPERS = [
  "CREATE FUNCTION public.create_bindu_tables_in_schema(schema_name text) RETURNS void",
  '    LANGUAGE plpgsql',
  '    AS $_$',
  '        BEGIN',
  "            EXECUTE format('",
  '                CREATE TABLE IF NOT EXISTS %I.tasks (',
  '                    id UUID PRIMARY KEY NOT NULL,',
  "                    kind VARCHAR(50) NOT NULL DEFAULT ''task'',",
  "                    history JSONB NOT NULL DEFAULT ''[]''::jsonb,",
  '                    CONSTRAINT fk_tasks_context FOREIGN KEY (context_id)',
  '                        REFERENCES %I.contexts(id) ON DELETE CASCADE',
  "                )', schema_name, schema_name);",
  "            EXECUTE format('CREATE INDEX IF NOT EXISTS idx_tasks_history_gin ON %I.tasks USING gin(history)', schema_name);",
  "            EXECUTE format('",
  '                CREATE TRIGGER update_tasks_updated_at',
  '                BEFORE UPDATE ON %I.tasks',
  '                FOR EACH ROW',
  '                EXECUTE FUNCTION update_updated_at_column()',
  "            ', schema_name);",
  "            RAISE NOTICE 'Created all Bindu tables in schema: %', schema_name;",
  '        END;',
  '        $_$;',
  'CREATE FUNCTION public.drop_bindu_tables_in_schema(schema_name text) RETURNS void',
  '    LANGUAGE plpgsql',
  '    AS $_$',
  '        BEGIN',
  "            EXECUTE format('DROP TABLE IF EXISTS %I.task_feedback CASCADE', schema_name);",
  "            RAISE NOTICE 'Dropped all Bindu tables in schema: %', schema_name;",
  '        END;',
  '        $_$;',
];

test("a backup of a Bindu server passes: public's helper functions build their one statement with format('… %I.table …')", async () => {
  const vetted = await vetScript(chunks(script(BINDU_HELPERS), 64), 'server.sql');
  expect(vetted.schemas).toEqual(['public', 'Agent X']);
});

test('the schemas restored (and dropped first by --clean) are those the file writes into, whatever its manifest or headers claim', async () => {
  const forged = script().replace(MANIFEST, '-- bindu-db manifest: {"schemas":["public","Agent X","bob"],"rows":{"public.t":2}}');
  const vetted = await vetScript(chunks(forged, 64), 'forged.sql');
  expect(vetted.schemas).toEqual(['public', 'Agent X', 'bob']);
  expect(vetted.written).toEqual(['Agent X', 'public']);
  const header = script(['', '-- Name: x; Type: TABLE; Schema: bob; Owner: -', '']).replace(`\\unrestrict k3y\n${MANIFEST}\n`, '\\unrestrict k3y\n');
  expect((await vetScript(chunks(header, 64), 'header.sql')).written).not.toContain('bob');
  // A schema only the forged manifest names is not the file's: a function body may not reach it
  // (a trap on bob's tables, shown as a restore of public).
  const reader = forged.replace(TAIL[2], () => `${TAIL[2]}\nCREATE FUNCTION public.zz() RETURNS integer LANGUAGE sql AS $$ SELECT a FROM bob.secret $$;`);
  await expect(vetScript(chunks(reader, 64), 'reader.sql')).rejects.toThrow(/refused a function body naming schema "bob", which the file does not restore/);
});

test('what pg_dump writes passes: its settings, search_path, INSERTs, schema statements and operators', async () => {
  const lines = [
    'SET default_tablespace = \'\';',
    'SET default_table_access_method = heap;',
    'SET search_path = public, pg_catalog;',
    "SELECT pg_catalog.set_config('search_path', 'public', false);",
    "INSERT INTO public.t VALUES (3, 'x');",
    'INSERT INTO public.t (a, b) OVERRIDING SYSTEM VALUE VALUES (4, NULL);',
    "INSERT INTO public.t (a, b) VALUES (5, 'y') ON CONFLICT DO NOTHING;",
    'GRANT USAGE ON SCHEMA public TO PUBLIC;',
    "COMMENT ON SCHEMA \"Agent X\" IS 'agent';",
    'ALTER SCHEMA "Agent X" OWNER TO bindu;',
    'CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;',
    'CREATE OPERATOR public.=== (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.eq);',
    "CREATE FUNCTION public.k() RETURNS void LANGUAGE plpgsql SET search_path TO 'public', 'pg_temp' AS $$ BEGIN PERFORM 1; END $$;",
    'CREATE TABLE public.c (a integer DEFAULT public.f(), LIKE public.t) INHERITS (public.t);',
    'REFRESH MATERIALIZED VIEW public.mv;',
    'GRANT SELECT ON TABLE public.t TO PUBLIC;',
    'REVOKE ALL ON SCHEMA public FROM PUBLIC;',
    'GRANT ALL ON FUNCTION public.f() TO bindu;',
    'GRANT SELECT(a) ON TABLE public.t TO bindu;',
    'ALTER DEFAULT PRIVILEGES FOR ROLE bindu IN SCHEMA public GRANT SELECT ON TABLES TO PUBLIC;',
    'DROP TABLE IF EXISTS public.old;',
    "ALTER TABLE ONLY public.t ADD CONSTRAINT c CHECK ((b OPERATOR(pg_catalog.~~) 'x%'::text));",
    'CREATE INDEX j ON public.t USING btree (b COLLATE pg_catalog."C" text_pattern_ops);',
    // SQL-standard bodies (PostgreSQL 14+), as pg_dump writes them: their semicolons are inside the one statement.
    'CREATE FUNCTION public.atomic(a integer) RETURNS integer',
    '    LANGUAGE sql',
    '    BEGIN ATOMIC',
    ' SELECT CASE WHEN (atomic.a > 0) THEN 1 ELSE 0 END AS "case";',
    ' SELECT (atomic.a + 1);',
    'END;',
    'CREATE FUNCTION public.ret(a integer) RETURNS integer',
    '    LANGUAGE sql',
    '    RETURN (a + 1);',
  ];
  const vetted = await vetScript(chunks(script(lines), 64), 'dump.sql');
  expect(vetted.written).toEqual(['Agent X', 'public']);
});
