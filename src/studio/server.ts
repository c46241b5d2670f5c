import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { packageRoot } from '../lib/packageRoot.js';
import type { Routes } from './routes.js';

// The HTTP side of the studio: one token, the Host check, the security headers, GET and HEAD
// only. Every request passes the same gate before any page is built.

/** The studio's own files, read once at start: the only static assets a page loads. */
const STATIC_DIR = path.join(packageRoot, 'src', 'studio', 'static');
const ASSETS: Record<string, string> = { 'studio.css': 'text/css; charset=utf-8', 'studio.js': 'text/javascript; charset=utf-8' };

const TYPES = { html: 'text/html; charset=utf-8', text: 'text/plain; charset=utf-8' } as const;

/**
 * Sent with every response. Only our own stylesheet and script run (no inline script, no
 * third-party asset), no page may frame ours, and no request leaves for anywhere else. The
 * token is in every URL: no Referer ever carries it away, and nothing is cached.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export interface StudioServer {
  /** http://host:port, as the Host check expects it. */
  readonly origin: string;
  /** The token every request must carry. */
  readonly token: string;
  readonly port: number;
  /** The IP address listened on, as the system resolved the host given. */
  readonly address: string;
  /** Stops listening and drops every open connection. */
  close(): Promise<void>;
}

/** Compares in constant time: both sides hashed first, so the buffers are of equal length whatever was sent. */
function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(token));
}

/** host:port as a browser writes it in the Host header (IPv6 in brackets). */
const authority = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startServer(routes: (token: string) => Routes, options: { host: string; port: number }): Promise<StudioServer> {
  const token = randomBytes(32).toString('base64url');
  const handler = routes(token);
  const assets = Object.fromEntries(Object.keys(ASSETS).map((name) => [name, fs.readFileSync(path.join(STATIC_DIR, name))]));
  let allowedHosts = new Set<string>();

  const send = (res: http.ServerResponse, head: boolean, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(bytes.length), ...extra });
    res.end(head ? undefined : bytes);
  };

  const server = http.createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const head = req.method === 'HEAD';
    try {
      // DNS rebinding: a page of evil.example that resolves its name to 127.0.0.1 still sends its own Host.
      if (!allowedHosts.has((req.headers.host ?? '').toLowerCase())) return send(res, head, 403, TYPES.text, 'forbidden: unexpected Host header\n');
      const url = new URL(req.url ?? '/', 'http://studio.invalid');
      if (!sameToken(url.searchParams.get('token'), token)) return send(res, head, 403, TYPES.text, 'forbidden: this address needs the token that bindu-db studio printed\n');
      // Another site may link to us, but not load our pages into its own (images, scripts, fetch).
      if (req.headers['sec-fetch-site'] === 'cross-site' && req.headers['sec-fetch-mode'] !== 'navigate') return send(res, head, 403, TYPES.text, 'forbidden: cross-site request\n');
      if (req.method !== 'GET' && !head) return send(res, head, 405, TYPES.text, 'method not allowed: the studio is read-only\n', { Allow: 'GET, HEAD' });
      const asset = /^\/static\/([a-z]+\.(?:css|js))$/.exec(url.pathname)?.[1];
      if (asset !== undefined && Object.hasOwn(assets, asset)) return send(res, head, 200, ASSETS[asset], assets[asset]);
      const reply = await handler.handle(url);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      send(res, head, reply.status, TYPES[reply.type], reply.body, { 'Server-Timing': `app;dur=${ms.toFixed(2)}` });
    } catch {
      if (!res.headersSent) send(res, head, 500, TYPES.text, 'internal error\n');
      else res.destroy();
    }
  });
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  // On loopback, `localhost` names the same server (it never resolves elsewhere).
  allowedHosts = new Set([authority(options.host, port).toLowerCase(), ...(LOOPBACK.has(options.host) ? [authority('localhost', port)] : [])]);
  return {
    origin: `http://${authority(options.host, port)}`,
    token,
    port,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
