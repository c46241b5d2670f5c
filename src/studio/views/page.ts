import { type Fragment, type Html, html } from './html.js';
import type { Links } from './links.js';

// The frame of every page: no inline script or style (the Content-Security-Policy allows only
// our own files), no asset from anywhere else, and an empty icon so the browser asks for none.

export interface Crumb {
  label: Fragment;
  href?: string;
}

export function page(links: Links, title: string, crumbs: Crumb[], body: Fragment): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · bindu-db studio</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${links.asset('studio.css')}">
<script src="${links.asset('studio.js')}" defer></script>
</head>
<body>
<header><nav aria-label="breadcrumb"><a class="brand" href="${links.agents()}">bindu-db studio</a>${crumbs.map((c) => html` <span class="sep">/</span> ${c.href ? html`<a href="${c.href}">${c.label}</a>` : html`<span>${c.label}</span>`}`)}</nav></header>
<main>
${body}
</main>
<footer>read-only · nothing on this page was fetched from the network</footer>
</body>
</html>
`;
}

/** A status as a coloured badge; `shown` is the server's own word where it differs. */
export function statusBadge(status: string, state?: string): Html {
  const shown = state !== undefined && state !== status ? `${status} (${state})` : status;
  return html`<span class="status status-${status.replace(/[^a-z_]/g, '')}">${shown}</span>`;
}

/** A timestamp in UTC, full precision kept in the tooltip. */
export function time(value: Date | string | null | undefined): Html {
  if (value === null || value === undefined) return html`<span class="dim">-</span>`;
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) return html`${String(value)}`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}
