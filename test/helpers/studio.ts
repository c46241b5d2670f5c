import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { type Browser, chromium } from 'playwright-core';
import { binPath, repoRoot } from './cli.js';

/** Debian's chromium, which test/helpers/ensure-chromium.sh installs (playwright downloads no browser). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchBrowser(): Promise<Browser> {
  // As root (CI, the dev machines) chromium runs only without its sandbox.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

export interface RunningStudio {
  url: string;
  /** http://127.0.0.1:port */
  origin: string;
  token: string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `bindu-db studio` (the built CLI) and resolves once it printed its URL. */
export function startStudio(args: string[], env: Record<string, string>): Promise<RunningStudio> {
  const child: ChildProcess = spawn(process.execPath, [binPath, ...args, 'studio'], {
    cwd: repoRoot,
    env: { ...process.env, DATABASE_URL: '', STORAGE_TYPE: '', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /^(http:\/\/[^/\s]+)(\/\S*token=([\w-]+))\s*$/m.exec(stdout);
      if (!m) return;
      resolve({
        url: m[1] + m[2],
        origin: m[1],
        token: m[3],
        stderr: () => stderr,
        stop: (signal = 'SIGINT') => (child.kill(signal), exited),
      });
    });
    void exited.then((code) => reject(new Error(`studio exited ${code} before printing a URL: ${stderr}`)));
  });
}

export interface PlainResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One plain HTTP request, with any Host header and method (a browser would not let us forge them). */
export function request(url: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<PlainResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
