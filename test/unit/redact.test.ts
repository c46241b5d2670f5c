import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { describeConnection, loadConfig, parseDatabaseUrl } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { createRedactor, maskUrls } from '../../src/lib/redact.js';
import { createOutput } from '../../src/cli/ui/output.js';

// Realistic passwords: 6+ characters of anything, URL-special characters included.
const password = fc.string({ minLength: 6, maxLength: 40, unit: 'binary' }).filter((s) => s.trim().length >= 6 && !/[\u0000-\u001f\s]/.test(s));

function capture() {
  let text = '';
  const stream = { write: (s: string) => ((text += s), true), isTTY: false };
  return { streams: { stdout: stream, stderr: stream }, text: () => text };
}

describe('masking', () => {
  test.each([
    ['postgresql://bindu_user:mypassword@localhost:5432/bindu_db', 'postgresql://bindu_user:***@localhost:5432/bindu_db'],
    ['postgresql+asyncpg://u:p@ss@h/db?ssl=require', 'postgresql+asyncpg://u:***@h/db?ssl=require'],
    ['cannot connect to postgres://a:b@c/d: refused', 'cannot connect to postgres://a:***@c/d: refused'],
    ['postgresql://h/db?user=u&password=hunter22', 'postgresql://h/db?user=u&password=***'],
    ['host=h password=hunter22 dbname=d', 'host=h password=*** dbname=d'],
    ['postgresql://u@h/db', 'postgresql://u@h/db'],
  ])('maskUrls(%s)', (input, expected) => {
    expect(maskUrls(input)).toBe(expected);
  });

  test('describeConnection shows the URL with the password masked', () => {
    expect(describeConnection(parseDatabaseUrl('postgresql+asyncpg://bindu_user:pw%2F1@localhost:5432/bindu_db?ssl=disable'))).toBe(
      'postgresql://bindu_user:***@localhost:5432/bindu_db',
    );
  });

  test('property: no password ever appears in output, error messages or masked URLs', () => {
    fc.assert(
      fc.property(password, (pw) => {
        const url = `postgresql+asyncpg://bindu_user:${encodeURIComponent(pw)}@db.example.com:5432/bindu_db?ssl=require`;
        const config = loadConfig({ url }, {});
        const out = capture();
        const output = createOutput({ json: false, redact: createRedactor(config.secrets), streams: out.streams });
        // Everything a command might print about its connection, plus a raw echo of the secret.
        output.print(`connected to ${config.target.kind === 'postgres' ? describeConnection(config.target.connection) : ''}`, url);
        output.document({ url, note: `password is ${pw}` });
        output.error(`failed on ${url} with ${pw}`, `retry ${encodeURIComponent(pw)}`);
        const printed = out.text();
        expect(printed).not.toContain(pw);
        expect(printed).not.toContain(encodeURIComponent(pw));
        // A malformed URL's error shows the URL masked, before any secret is known.
        let message = '';
        try {
          parseDatabaseUrl(`${url.replace(':5432', ':notaport')}`);
        } catch (err) {
          message = (err as ConfigError).message;
        }
        expect(message).toContain('***');
        expect(message).not.toContain(encodeURIComponent(pw));
      }),
      { numRuns: 300 },
    );
  });
});

test('a URL too broken to parse (an unencoded password cut short, by a # in a .env file say) shows no part of what followed the user name', () => {
  fc.assert(
    fc.property(password, fc.nat(), fc.boolean(), (pw, cut, withHost) => {
      const typed = `postgresql://postgres:${pw}${withHost ? '@127.0.0.1:5432/bindu' : ''}`;
      const text = typed.slice(0, 'postgresql://postgres:'.length + 1 + (cut % typed.length));
      let message = '';
      try {
        parseDatabaseUrl(text);
        return; // it parsed: describeConnection masks it, tested above
      } catch (err) {
        message = (err as ConfigError).message;
      }
      // Shown after the mask: nothing, or what reads as a server (all a parse can tell apart).
      expect(message).toMatch(/: postgresql:\/\/\*\*\*(@[A-Za-z0-9.-]+(:\d+)?(\/[\w.$%-]*)?)?$/);
      expect(message.slice(0, message.lastIndexOf(': postgresql://'))).not.toContain(pw.slice(0, 4));
    }),
    { numRuns: 500 },
  );
  expect(() => parseDatabaseUrl('postgresql://postgres:Tr1cky p@ss:w/rd%?')).toThrow(/^invalid database URL \([^)]*\): postgresql:\/\/\*\*\*$/);
  // Where what follows the last @ reads as a host, it is shown: it says which server was meant.
  expect(() => parseDatabaseUrl('postgresql://u:p@ss@db.example.com/bindu?sslmode=nope')).toThrow(/postgresql:\/\/\*\*\*@db\.example\.com\/bindu\?sslmode=nope$/);
  // No '@' yet: a password cut short reads as host:port; one no server could have (0, 99999) is shown masked.
  expect(() => parseDatabaseUrl('postgresql://postgres:0')).toThrow(/: postgresql:\/\/\*\*\*$/);
  expect(() => parseDatabaseUrl('postgresql://postgres:99999')).toThrow(/: postgresql:\/\/\*\*\*$/);
  expect(() => parseDatabaseUrl('postgresql://u:pa@ss:wo')).toThrow(/^invalid database URL \(bad port \(a number from 1 to 65535\)\): postgresql:\/\/\*\*\*$/);
});

describe('maskSecrets in webhook URLs', () => {
  test.each([
    ['https://hooks.example.com/x?token=abc123&channel=ops', 'https://hooks.example.com/x?token=***&channel=ops'],
    ['https://hooks.example.com/x?api_key=k1&sig=s2#frag', 'https://hooks.example.com/x?api_key=***&sig=***#frag'],
    ['https://user:hunter22@hooks.example.com/x?Secret=s', 'https://***@hooks.example.com/x?Secret=***'],
    // Masking errs on the side of hiding: a name that merely contains "key" is masked too.
    ['https://hooks.example.com/x?monkey=banana', 'https://hooks.example.com/x?monkey=***'],
    ['not a url ?token=x', 'not a url ?token=x'],
  ])('%s', async (input, expected) => {
    const { maskSecrets } = await import('../../src/lib/redact.js');
    expect(maskSecrets({ url: input })).toEqual({ url: expected });
  });
});
