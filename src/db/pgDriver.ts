import { createRequire } from 'node:module';
import type pg from 'pg';

let loaded: typeof pg | undefined;

/**
 * node-pg, required on first use. In the CLI bundle (CommonJS) `require` is the bundle's own, so
 * pg is bundled, and compiled into its code cache; run from the sources (ES modules) there is none.
 *
 * On Node 20, which has no global `navigator`, pg tells whether it runs on Cloudflare by
 * constructing a `Response` as it loads, and touching that global first loads Node's whole fetch
 * implementation (undici): some 30-50 ms of every command that connects, for a class we never
 * use. So the global is hidden while pg loads; require is synchronous, so no other code runs
 * meanwhile. Node 21 and later have `navigator`, which pg asks first.
 */
export function loadPg(): typeof pg {
  if (loaded) return loaded;
  const response = 'navigator' in globalThis ? undefined : Object.getOwnPropertyDescriptor(globalThis, 'Response');
  if (response) Object.defineProperty(globalThis, 'Response', { value: undefined, configurable: true, writable: true });
  try {
    loaded = (typeof require === 'function' ? require('pg') : createRequire(import.meta.url)('pg')) as typeof pg;
  } finally {
    if (response) Object.defineProperty(globalThis, 'Response', response);
  }
  return loaded;
}
