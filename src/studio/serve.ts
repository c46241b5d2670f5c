import { sourceFor } from '../core/inspect.js';
import { type Database, inSchema } from '../db/connect.js';
import { OperationError, UsageError } from '../errors.js';
import { startTool } from '../lib/process.js';
import { createRoutes } from './routes.js';
import { type StudioServer, startServer } from './server.js';
import { linksFor } from './views/links.js';

// `bindu-db studio` as one call: serve the read-only web view of `db` until `signal` aborts,
// then close every connection. The database itself is the caller's to close.

export interface StudioOptions {
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 0: a free one). */
  port?: number;
  /** Open the URL in the desktop's browser. */
  open?: boolean;
  /** Start on this schema's tasks rather than on the list of agents. */
  schema?: string;
}

export interface StudioCallbacks {
  /** The URL to open, printed once the server listens. */
  onListening(url: string): void;
  /** Something went wrong serving a page (not the request's fault), or the browser did not open. */
  onError(err: unknown): void;
}

/** A --port value: 0 (any free port) to 65535. */
export function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  if (!/^\s*\d{1,5}\s*$/.test(value) || Number(value) > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, not ${JSON.stringify(value.slice(0, 20))}`, 'or leave it out for a free port');
  return Number(value);
}

/**
 * A --host value. Not an unspecified address (0.0.0.0, ::): requests must name the address the
 * studio listens on (the Host check that stops DNS rebinding), and no browser names that one.
 */
export function parseHost(value: string | undefined): string {
  if (value === undefined) return '127.0.0.1';
  const host = value.trim().replace(/^\[(.*)\]$/, '$1');
  if (host === '' || UNSPECIFIED.test(host)) throw unspecifiedHost(value);
  return host;
}

const UNSPECIFIED = /^(0\.0\.0\.0|::|::ffff:0\.0\.0\.0)$/;

function unspecifiedHost(value: string): UsageError {
  return new UsageError(`--host must be an address of this machine that browsers will use, not ${JSON.stringify(value)}`, 'e.g. --host 192.168.1.20 (the URL printed names it; requests naming another host are refused)');
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): OperationError {
  if (err.code === 'EADDRINUSE') return new OperationError(`port ${port} on ${host} is already in use`, 'choose another with --port, or leave it out for a free one');
  if (err.code === 'EACCES') return new OperationError(`not allowed to listen on port ${port}`, 'ports below 1024 need privileges: choose another with --port');
  if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') return new OperationError(`cannot listen on ${host}: no such local address`, 'give --host an address of this machine, or leave it out for 127.0.0.1');
  return new OperationError(`cannot listen on ${host}:${port}: ${err.message}`);
}

function openBrowser(url: string, onError: (err: unknown) => void): void {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  startTool({ name: command, command, args: [url], env }, { stdin: 'ignore', stdout: 'ignore', redact: (t) => t, missingHint: 'open the printed URL yourself' }).done.catch(onError);
}

export async function serveStudio(db: Database, options: StudioOptions, signal: AbortSignal, callbacks: StudioCallbacks): Promise<void> {
  const host = parseHost(options.host);
  const port = options.port ?? 0;
  // A schema without Bindu tables is said now, listing those with some, not as a page that 404s.
  if (options.schema !== undefined) await sourceFor(inSchema(db, options.schema));
  let server: StudioServer;
  try {
    server = await startServer((token) => createRoutes(db, linksFor(token), callbacks.onError), { host, port });
  } catch (err) {
    throw listenError(err as NodeJS.ErrnoException, host, port);
  }
  try {
    // Other spellings (`0`, `0.0`, `::0`, a name resolving to them) are known once listening: they listen on every interface too.
    if (UNSPECIFIED.test(server.address)) throw unspecifiedHost(host);
    const links = linksFor(server.token);
    const url = server.origin + (options.schema === undefined ? links.agents() : links.tasks(options.schema));
    callbacks.onListening(url);
    if (options.open) openBrowser(url, callbacks.onError);
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    await server.close();
  }
}
