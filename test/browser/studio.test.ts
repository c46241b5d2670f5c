import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { readMigrations } from '../../src/core/migrationFiles.js';
import { up } from '../../src/core/migrations.js';
import { runSeeds, seedFiles } from '../../src/core/seeds.js';
import * as inspect from '../../src/core/inspect.js';
import { AGENT_SCHEMAS, createAllSchemaDdl } from '../fixtures/serverLayout.js';
import { adminQuery, createTestDatabase, dropTestDatabase } from '../helpers/db.js';
import { buildServerDatabase } from '../helpers/serverDb.js';
import { pooledUrl } from '../helpers/pooler.js';
import { repoRoot, runCli } from '../helpers/cli.js';
import { type RunningStudio, launchBrowser, request, startStudio } from '../helpers/studio.js';

// `bindu-db studio` as a user meets it: the real CLI serving a PostgreSQL database holding our
// schema (sample data, a hostile history, a 5 MB history) and three agents of Bindu's server,
// browsed in Debian's chromium; the gate (token, Host, methods) probed with plain requests.

const CONTEXT = '5e000000-0000-4000-8000-000000000000';
const HOSTILE = '5e000000-0000-4000-8000-000000000001';
const BIG = '5e000000-0000-4000-8000-000000000002';
const WEBHOOK_TASK = 'c0ffee00-0000-4000-8000-000000000006';
const WEBHOOK_SECRET = 'whsec_9f8e7d6c5b4a39281706f5e4d3c2b1a0';
const SCRIPT_TEXT = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
const LINK_TEXT = '<a href="javascript:window.__pwned = 3">click me</a>';
const ESCAPES = 'red \u001b[31mALERT\u001b[0m and \u202eevil\u202c, a bell\u0007';
const BIG_TEXT = 'x'.repeat(5 * 1024 * 1024);
/** Screenshots for docs/ when asked (UPDATE_SCREENSHOTS=1); otherwise taken into a temporary folder. */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? path.join(repoRoot, 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'studio-shots-'));

describe('bindu-db studio on PostgreSQL, in a browser', () => {
  let t: { name: string; url: string };
  let studio: RunningStudio;
  let browser: Browser;
  let page: Page;
  /** Errors the browser reported on any page (a Content-Security-Policy violation among them). */
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    t = await createTestDatabase('studio');
    const config = loadConfig({ url: t.url }, {});
    const db = await openDatabase(config);
    try {
      await up(db, readMigrations(), { lockTimeoutSeconds: 10 });
      await runSeeds(db, config.seedsDir, seedFiles(config.seedsDir));
      await buildServerDatabase(db.knex);
      const k = db.knex;
      await k('contexts').insert({ context_id: CONTEXT, metadata: JSON.stringify({ title: '<b>not bold</b>' }) });
      const msg = (role: string, parts: unknown[]) => ({ role, kind: 'message', message_id: `${role}-1`, parts });
      await k('tasks').insert([
        {
          task_id: HOSTILE,
          context_id: CONTEXT,
          status: 'failed',
          history: JSON.stringify([
            msg('user', [{ kind: 'text', text: SCRIPT_TEXT }, { kind: 'file', file: { name: 'evil.html', mime_type: 'text/html', uri: 'javascript:window.__pwned = 4' } }]),
            msg('agent', [{ kind: 'text', text: `${LINK_TEXT}\n${ESCAPES}` }, { kind: 'data', data: { '<i>key</i>': '</pre><script>window.__pwned = 5</script>' } }]),
          ]),
          created_at: new Date(Date.now() - 60_000),
        },
        {
          task_id: BIG,
          context_id: CONTEXT,
          status: 'completed',
          history: JSON.stringify([msg('user', [{ kind: 'text', text: 'make it long' }]), msg('agent', [{ kind: 'text', text: BIG_TEXT }, { kind: 'data', data: { rows: Array.from({ length: 20_000 }, (_, i) => ({ i, v: 'value' })) } }])]),
          created_at: new Date(Date.now() - 120_000),
        },
      ]);
    } finally {
      await db.close();
    }
    studio = await startStudio(['--url', t.url], {});
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await studio?.stop('SIGKILL');
    if (t) await dropTestDatabase(t.name);
  });

  test('prints one URL on 127.0.0.1 with a long random token', () => {
    expect(studio.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(studio.token.length).toBeGreaterThanOrEqual(40);
  });

  test('the agents page lists every schema with its layout and task counts', async () => {
    await page.goto(studio.url);
    const rows = page.locator('table.list tbody tr');
    await expect(rows.count()).resolves.toBe(4);
    const text = await page.locator('table.list').innerText();
    for (const schema of ['public', AGENT_SCHEMAS.echo, AGENT_SCHEMAS.research, AGENT_SCHEMAS.legacy]) expect(text).toContain(schema);
    expect(text).toContain('bindu-server');
    await page.screenshot({ path: path.join(SHOTS, 'studio-agents.png') });
  });

  test('filter failed tasks, page forward, every failed task exactly once', async () => {
    await page.goto(studio.url);
    await page.getByRole('link', { name: 'public', exact: true }).click();
    await page.screenshot({ path: path.join(SHOTS, 'studio-tasks.png') });
    await page.locator('input[name=status][value=failed]').check();
    await page.fill('input[name=limit]', '2');
    await page.getByRole('button', { name: 'Filter' }).click();
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    const idsOnPage = async () => page.locator('table.tasks tbody tr td:first-child').allInnerTexts();
    const statuses = async () => page.locator('table.tasks tbody tr td:nth-child(2)').allInnerTexts();
    const first = await idsOnPage();
    expect(first).toHaveLength(2);
    expect(await statuses()).toEqual(['failed', 'failed']);
    expect(await page.locator('td.reason').first().innerText()).not.toBe('');
    const seen = [...first];
    while (await page.locator('a.next').count()) {
      await page.locator('a.next').click();
      expect((await statuses()).every((s) => s === 'failed')).toBe(true);
      seen.push(...(await idsOnPage()));
    }
    const db = await openDatabase(loadConfig({ url: t.url }, {}));
    try {
      const expected = (await inspect.listTasks(db, { status: 'failed', limit: '100' })).items.map((x) => x.task_id);
      expect(seen).toEqual(expected);
      expect(expected.length).toBeGreaterThan(2);
    } finally {
      await db.close();
    }
  });

  test("a task's timeline is what tasks show holds, the webhook's token masked", async () => {
    const url = new URL(studio.url);
    url.pathname = `/agents/public/tasks/${WEBHOOK_TASK}`;
    await page.goto(url.toString());
    const db = await openDatabase(loadConfig({ url: t.url }, {}));
    const task = await inspect.showTask(db, WEBHOOK_TASK).finally(() => db.close());
    const messages = page.locator('ol.timeline li.message');
    await expect(messages.count()).resolves.toBe(task.history.length);
    const roles = await page.locator('li.message .role').allInnerTexts();
    expect(roles.map((r) => r.toLowerCase())).toEqual(task.history.map((m) => (m as { role: string }).role));
    for (const m of task.history as Array<{ parts: Array<{ text?: string }> }>) {
      for (const p of m.parts) if (p.text) expect(await page.locator('ol.timeline').innerText()).toContain(p.text.split('\n')[0]);
    }
    const webhook = await page.locator('pre.webhook').innerText();
    expect(webhook).toContain('"token": "***"');
    expect(webhook).toContain('https://hooks.example.com/bindu/notify');
    expect(await page.content()).not.toContain(WEBHOOK_SECRET);
    await page.screenshot({ path: path.join(SHOTS, 'studio-task.png'), fullPage: true });
  });

  test('a hostile history stays text: no script runs, no javascript: link, escapes shown', async () => {
    const url = new URL(studio.url);
    url.pathname = `/agents/public/tasks/${HOSTILE}`;
    await page.goto(url.toString());
    const timeline = await page.locator('ol.timeline').innerText();
    expect(timeline).toContain(SCRIPT_TEXT);
    expect(timeline).toContain(LINK_TEXT);
    expect(timeline).toContain('javascript:window.__pwned = 4'); // the file's URI, as text
    expect(timeline).toContain('</pre><script>window.__pwned = 5</script>');
    expect(timeline).toContain('red \\u001b[31mALERT\\u001b[0m and \\u202eevil\\u202c, a bell\\u0007');
    expect(await page.locator('.ctl').allInnerTexts()).toEqual(['\\u001b', '\\u001b', '\\u202e', '\\u202c', '\\u0007']);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(await page.locator('script').count()).toBe(1); // ours, from /static
    expect(await page.locator('a[href^="javascript:"], [onerror], img').count()).toBe(0);
    // The tasks list shows the same failure reason as text too.
    await page.goto(studio.url.replace('/?', '/agents/public/tasks?status=failed&'));
    expect(await page.locator('td.reason').first().innerText()).toContain('<a href="javascript:');
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  });

  test('a 5 MB history opens folded, and its whole text loads on demand', async () => {
    const url = new URL(studio.url);
    url.pathname = `/agents/public/tasks/${BIG}`;
    const response = await page.goto(url.toString());
    const size = (await response!.body()).length;
    expect(size).toBeLessThan(100_000);
    const texts = page.locator('ol.timeline pre.text');
    expect((await texts.nth(1).innerText()).length).toBeLessThan(5000);
    expect(await page.locator('p.fold').count()).toBe(2); // the long text and the big data part
    await page.locator('a.more').first().click();
    await page.waitForFunction(() => (document.querySelectorAll('ol.timeline pre.text')[1]?.textContent?.length ?? 0) >= 5 * 1024 * 1024);
    expect(await page.locator('p.fold').count()).toBe(1);
  });

  test('a context of a Bindu server agent shows its tasks and their conversation; stats are drawn as SVG', async () => {
    const url = new URL(studio.url);
    url.pathname = `/agents/${AGENT_SCHEMAS.echo}/contexts/aa000000-0000-4000-8000-000000000000`;
    await page.goto(url.toString());
    expect(await page.locator('table.tasks tbody tr').count()).toBe(9);
    expect(await page.locator('main').innerText()).toContain('please do task completed');
    await page.locator('table.tasks tbody tr td:first-child a').first().click();
    expect(page.url()).toContain(`/agents/${AGENT_SCHEMAS.echo}/tasks/`);
    url.pathname = `/agents/${AGENT_SCHEMAS.echo}/stats`;
    await page.goto(url.toString());
    expect(await page.locator('svg.chart').count()).toBe(3);
    expect(await page.locator('svg.chart rect.bar').count()).toBeGreaterThanOrEqual(14 + 8 + 5);
    await page.screenshot({ path: path.join(SHOTS, 'studio-stats.png'), fullPage: true });
  });

  test('contexts list newest first and lead to a context', async () => {
    await page.goto(studio.url.replace('/?', '/agents/public/tasks?'));
    await page.getByRole('link', { name: 'contexts', exact: true }).click();
    const ids = await page.locator('table.contexts tbody tr td:first-child').allInnerTexts();
    expect(ids[0]).toBe(CONTEXT);
    expect(ids.length).toBe(4);
    expect(await page.locator('table.contexts').innerText()).toContain('<b>not bold</b>');
    await page.getByRole('link', { name: CONTEXT }).click();
    expect(await page.locator('table.tasks tbody tr').count()).toBe(2);
  });

  test('no page broke the Content-Security-Policy or threw', () => {
    expect(consoleErrors).toEqual([]);
  });

  test('the gate: no token, a wrong token, a foreign Host, another method, a cross-site load', async () => {
    const bare = `${studio.origin}/agents/public/tasks`;
    const host = new URL(studio.origin).host;
    const cases: Array<[string, Parameters<typeof request>[1], number]> = [
      [bare, {}, 403],
      [`${bare}?token=wrong`, {}, 403],
      [`${bare}?token=${studio.token}x`, {}, 403],
      [`${bare}?token=${studio.token.slice(0, -1)}`, {}, 403],
      [`${studio.origin}/static/studio.css`, {}, 403],
      [`${bare}?token=${studio.token}`, { headers: { Host: 'evil.example' } }, 403],
      [`${bare}?token=${studio.token}`, { headers: { Host: `evil.example:${new URL(studio.origin).port}` } }, 403],
      [`${bare}?token=${studio.token}`, { method: 'POST' }, 405],
      [`${bare}?token=${studio.token}`, { method: 'DELETE' }, 405],
      [`${bare}?token=${studio.token}`, { headers: { 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' } }, 403],
      [`${bare}?token=${studio.token}`, { headers: { Host: host } }, 200],
      [`${bare}?token=${studio.token}`, { headers: { Host: host.replace('127.0.0.1', 'localhost') } }, 200],
    ];
    for (const [url, options, status] of cases) {
      const res = await request(url, options);
      expect([url.replace(studio.token, '<token>'), options, res.status]).toEqual([url.replace(studio.token, '<token>'), options, status]);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      if (status !== 200) expect(res.body).not.toContain('<table');
    }
    const head = await request(`${bare}?token=${studio.token}`, { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, '']);
  });

  test('--host that listens on every interface is refused however it is spelt (the Host check cannot hold there)', async () => {
    // getaddrinfo reads `0` as 0.0.0.0: the studio listened on every interface and printed http://0:<port>.
    for (const host of ['0.0.0.0', '::', '0', '0.0', '::0']) {
      const r = await runCli(['--url', t.url, 'studio', '--host', host], { timeoutMs: 20_000 });
      expect([host, r.code, r.stdout]).toEqual([host, 2, '']);
      expect(r.stderr).toMatch(/--host must be an address of this machine/);
    }
  });

  test('an agent schema dropped while the studio runs is a 404 page, not an internal error', async () => {
    const schema = 'did_bindu_gone_at_example_com_agent_1';
    for (const sql of createAllSchemaDdl(schema, { ownerDid: true })) await adminQuery(sql, [], t.name);
    const address = studio.url.replace('/?', `/agents/${schema}/tasks?`);
    expect((await request(address)).status).toBe(200);
    await adminQuery(`drop schema "${schema}" cascade`, [], t.name);
    const gone = await request(address);
    expect(gone.status).toBe(404);
    expect(gone.body).toContain(`schema &quot;${schema}&quot; holds no Bindu tables`);
    expect(studio.stderr()).not.toMatch(/does not exist/);
  });

  test('a history nested deeper than JavaScript can walk is an error page saying so', async () => {
    const deep = 'c0ffee00-0000-4000-8000-0000000000d1';
    await adminQuery(`insert into tasks (task_id, context_id, status, history) values ($1, $2, 'failed', jsonb_build_array(jsonb_build_object('kind', 'message', 'role', 'agent', 'parts', jsonb_build_array(jsonb_build_object('kind', 'data', 'data', $3::jsonb)))))`, [deep, CONTEXT, `${'['.repeat(6000)}${']'.repeat(6000)}`], t.name);
    try {
      const r = await request(studio.url.replace('/?', `/agents/public/tasks/${deep}?`));
      expect(r.body).toContain('nested too deeply to show');
      expect(studio.stderr()).not.toMatch(/Maximum call stack/);
    } finally {
      await adminQuery('delete from tasks where task_id = $1', [deep], t.name);
    }
  });

  test('bad filters are a 400 page, a missing task a 404 page', async () => {
    expect((await request(studio.url.replace('/?', '/agents/public/tasks?since=yesterday&'))).status).toBe(400);
    expect((await request(studio.url.replace('/?', '/agents/public/tasks?status=exploded&'))).status).toBe(400);
    expect((await request(studio.url.replace('/?', '/agents/public/tasks/not-a-uuid?'))).status).toBe(400);
    expect((await request(studio.url.replace('/?', `/agents/public/tasks/${CONTEXT}?`))).status).toBe(404);
    expect((await request(studio.url.replace('/?', '/agents/no_such_schema/tasks?'))).status).toBe(404);
    // A NUL is no character PostgreSQL takes in a text: the address is bad, not the server.
    for (const p of ['/agents/%00/tasks?', `/agents/${AGENT_SCHEMAS.echo}/tasks?owner=%00&`, `/agents/${AGENT_SCHEMAS.echo}/tasks/%00?`]) {
      const r = await request(studio.url.replace('/?', p));
      expect([p, r.status]).toEqual([p, 400]);
    }
    expect(studio.stderr()).not.toMatch(/invalid byte sequence/);
  });

  test('through a transaction pooler (PgBouncer) every page reads the same', async () => {
    const pooled = await startStudio(['--url', pooledUrl(t.url)], {});
    try {
      const page = (p: string) => request(pooled.url.replace('/?', `${p}?`));
      const agents = await page('/');
      expect(agents.status).toBe(200);
      expect(agents.body).toContain(AGENT_SCHEMAS.legacy);
      const pages = [
        '/agents/public/tasks',
        `/agents/public/tasks/${WEBHOOK_TASK}`,
        `/agents/${AGENT_SCHEMAS.echo}/tasks`,
        `/agents/${AGENT_SCHEMAS.echo}/contexts/aa000000-0000-4000-8000-000000000000`,
        `/agents/${AGENT_SCHEMAS.research}/stats`,
      ];
      for (const p of pages) {
        const direct = await request(studio.url.replace('/?', `${p}?`));
        const viaPooler = await page(p);
        expect([p, viaPooler.status]).toEqual([p, 200]);
        // The same page but for the token in its links.
        expect(viaPooler.body.split(pooled.token).join('T')).toBe(direct.body.split(studio.token).join('T'));
      }
    } finally {
      await pooled.stop('SIGKILL');
    }
  });

  test('Ctrl-C stops it with exit 130, open connections closed', async () => {
    const other = await startStudio(['--url', t.url], {});
    // A connection in the middle of a request (headers not finished) must not hold the shutdown.
    const { hostname, port } = new URL(other.origin);
    const socket = net.connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /?token=${other.token} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.on('error', () => undefined);
    const code = await other.stop('SIGINT');
    await closed;
    expect(code).toBe(130);
    expect(other.stderr()).toContain('studio stopped'); // by itself, not by the forced exit after a grace period
    await expect(request(other.url)).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('bindu-db studio on the embedded database', () => {
  test('serves the sample data', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'studio-embedded-'));
    const env = { BINDU_DB_DATA_DIR: path.join(dir, 'db') };
    expect((await runCli(['seed', 'run'], { env })).code).toBe(0);
    const studio = await startStudio([], env);
    try {
      const res = await request(studio.url);
      expect(res.status).toBe(200);
      expect(res.body).toContain('/agents/public/tasks?token=');
      const tasks = await request(studio.url.replace('/?', '/agents/public/tasks?status=failed&'));
      expect(tasks.body.match(/class="status status-failed"/g)?.length).toBeGreaterThanOrEqual(3);
    } finally {
      expect(await studio.stop('SIGINT')).toBe(130);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
