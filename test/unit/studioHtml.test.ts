import { describe, expect, test } from '@jest/globals';
import { escapeHtml, html, showControls } from '../../src/studio/views/html.js';
import { linksFor } from '../../src/studio/views/links.js';
import { parseHost, parsePort } from '../../src/studio/serve.js';
import { UsageError } from '../../src/errors.js';

// The studio's one escape and its template: what a text from the database becomes in a page.

describe('escapeHtml', () => {
  test.each([
    ['<script>alert(1)</script>', '&lt;script&gt;alert(1)&lt;/script&gt;'],
    ['"onmouseover="x', '&quot;onmouseover=&quot;x'],
    ["it's", 'it&#39;s'],
    ['a & b', 'a &amp; b'],
    ['&lt;', '&amp;lt;'],
    ['line\nnext\ttab', 'line\nnext\ttab'],
    ['\u001b[31mred', '<span class=ctl>\\u001b</span>[31mred'],
    ['\u0000\u007f\u009b', '<span class=ctl>\\u0000</span><span class=ctl>\\u007f</span><span class=ctl>\\u009b</span>'],
    ['a\rb', 'a<span class=ctl>\\u000d</span>b'],
    ['\u202eevil\u202c', '<span class=ctl>\\u202e</span>evil<span class=ctl>\\u202c</span>'],
    ['zero\u200bwidth\ufeff', 'zero<span class=ctl>\\u200b</span>width<span class=ctl>\\ufeff</span>'],
    ['ünïcödé ✓ 😄', 'ünïcödé ✓ 😄'],
  ])('%j', (input, expected) => {
    expect(escapeHtml(input)).toBe(expected);
  });

  test('the control marker has no quote, so inside a quoted attribute it cannot end it', () => {
    expect(escapeHtml('\u001b"')).not.toMatch(/"/);
  });
});

test('showControls writes the same escapes as plain text', () => {
  expect(showControls('a\u001bb\u202e<')).toBe('a\\u001bb\\u202e<');
});

describe('html template', () => {
  test('escapes every interpolated text, keeps markup it built, flattens lists, drops nothing-values', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const out = html`<ul>${['a<b', html`<li>${evil}</li>`, null, undefined, false, 0]}</ul>`;
    expect(out.value).toBe('<ul>a&lt;b<li>&lt;img src=x onerror=alert(1)&gt;</li>0</ul>');
  });

  test('a string that looks like markup is still text', () => {
    expect(html`${'<b>'}`.value).toBe('&lt;b&gt;');
  });
});

test('every link carries the token, and values are URL-encoded', () => {
  const links = linksFor('tok');
  expect(links.agents()).toBe('/?token=tok');
  expect(links.tasks('a b', { status: 'failed', after: undefined, since: '' })).toBe('/agents/a%20b/tasks?status=failed&token=tok');
  expect(links.part('s', 'id/..', 1, 2)).toBe('/agents/s/tasks/id%2F../history/1/2?token=tok');
});

describe('parsePort', () => {
  test.each([[undefined, 0], ['0', 0], ['4983', 4983], [' 65535 ', 65535]])('%j -> %j', (value, port) => {
    expect(parsePort(value)).toBe(port);
  });
  test.each(['-1', '65536', 'abc', '80.5', ''])('%j is a usage error', (value) => {
    expect(() => parsePort(value)).toThrow(UsageError);
  });
});

describe('parseHost', () => {
  test.each([[undefined, '127.0.0.1'], ['192.168.1.20', '192.168.1.20'], ['[::1]', '::1'], ['localhost', 'localhost']])('%j -> %j', (value, host) => {
    expect(parseHost(value)).toBe(host);
  });
  test.each(['0.0.0.0', '::', '[::]', ' '])('%j is a usage error: no browser names it', (value) => {
    expect(() => parseHost(value)).toThrow(UsageError);
  });
});
