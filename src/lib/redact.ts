/**
 * Hiding passwords. Two layers: URLs are masked structurally wherever they are shown, and every
 * line the CLI writes is scrubbed of the secrets the configuration knows about, as a safety net.
 */

const MASK = '***';
const MIN_SCRUBBED_LENGTH = 4;

// scheme://user:password@rest — the password runs to the LAST '@' because people paste unencoded '@'s.
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^\s]*)@/gi;
const PASSWORD_PARAM = /([?&](?:password|pass|pwd)=)[^&\s]*/gi;
const PASSWORD_KV = /\b(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi;

/** Masks the password of every connection URL inside `text`. */
export function maskUrls(text: string): string {
  return text
    .replace(URL_CREDENTIALS, (_m, head: string) => `${head}${MASK}@`)
    .replace(PASSWORD_PARAM, `$1${MASK}`)
    .replace(PASSWORD_KV, `$1${MASK}`);
}

/** What follows a URL's last '@' when it reads as a server: host, a port that can be one (1–65535), database, parameters. */
const HOST_SHAPED = /^@(\[[0-9a-f:.]+\]|[a-z0-9][a-z0-9.-]*)(:([1-9]\d{0,3}|[1-5]\d{4}|6[0-4]\d{3}|65[0-4]\d{2}|655[0-2]\d|6553[0-5]))?(\/[\w.$%-]*)?(\?[\w.=&%+-]*)?$/i;

/**
 * One connection URL as typed, however malformed, safe to echo: everything between `://` and
 * the last '@' (user name and password alike) masked, since people paste unencoded '@', '/',
 * '#' and spaces into passwords and no parse of such a text can say where the password ends.
 * What follows that '@' is shown only when it reads as a server: a password cut short (by a '#'
 * in a .env file, say) leaves its own tail there.
 */
export function maskUrl(raw: string): string {
  const start = raw.indexOf('://');
  const at = raw.lastIndexOf('@');
  if (start < 0) return maskUrls(raw);
  // No '@': `postgres:secret` (no host yet) looks like host:port, and is shown only as one.
  if (at < start) return HOST_SHAPED.test(`@${raw.slice(start + 3)}`) ? raw : `${raw.slice(0, start + 3)}${MASK}`;
  const rest = raw.slice(at);
  return `${raw.slice(0, start + 3)}${MASK}${HOST_SHAPED.test(rest) ? rest : ''}`;
}

// A query (or fragment) parameter whose name says it holds a secret: ?token=, &api_key=, &sig=...
const SECRET_PARAM = /([?&#;](?:[^=&#;]*?(?:token|key|secret|sig|passw|pwd|pass|auth|credential|session|cookie)[^=&#;]*)=)[^&#;]*/gi;

/**
 * A URL as stored in a webhook config, safe to show: its userinfo and the values of
 * secret-named query or fragment parameters masked; everything else exactly as written.
 */
export function maskUrlSecrets(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${MASK}@`).replace(SECRET_PARAM, `$1${MASK}`);
}

/** The forms a secret can take in text: as given, percent-encoded and percent-decoded. */
function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not valid percent-encoding: the literal form is enough
  }
  // Scrubbing a one- or two-letter password out of every line would garble all output; such a
  // password is still masked wherever it appears inside a URL.
  return [...forms].filter((s) => s.length >= MIN_SCRUBBED_LENGTH);
}

export interface Redactor {
  (text: string): string;
}

/** A function that masks URLs and every known secret in a text. */
export function createRedactor(secrets: readonly string[]): Redactor {
  // Longest first, so a secret that contains another is masked whole.
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  return (text: string) => {
    let out = maskUrls(text);
    for (const form of forms) out = out.split(form).join(MASK);
    return out;
  };
}

/** The libpq (PG*) variables of a child's environment as they may be shown: the password masked. */
export function shownLibpqEnv(env: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PG')).map(([k, v]) => [k, k === 'PGPASSWORD' ? MASK : v]));
}

const SECRET_KEY = /(token|secret|passw(or)?d|passwd|authorization|api[_-]?key|apikey|credential|private[_-]?key|signing[_-]?key|cookie|session|signature|(^|[_-])key$|^sig$)/i;

/**
 * A copy of a JSON value (a webhook config) with secrets masked: the values of secret-looking
 * keys (everything under one, e.g. an `authorization` object), and secrets inside URL strings.
 */
export function maskSecrets(value: unknown): unknown {
  if (typeof value === 'string') return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? maskUrlSecrets(value) : value;
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) && v !== null ? maskAll(v) : maskSecrets(v)]),
    );
  }
  return value;
}

/** Everything under a secret key is secret: a scalar or array becomes "***", an object keeps only its keys. */
function maskAll(value: unknown): unknown {
  if (typeof value !== 'object' || Array.isArray(value)) return MASK;
  return Object.fromEntries(Object.keys(value as object).map((k) => [k, MASK]));
}
