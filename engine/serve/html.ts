/**
 * HTML built by one tagged template, `html`, that escapes every interpolated value unless it is already `Html`:
 * a page can only hold markup its code wrote, never markup from a name, a message or a query.
 */
import { displayName } from '../fs-path.js';

/** Markup that is safe as it is (made by `html` or `raw`). */
export class Html {
  constructor(readonly value: string) {}
  toString(): string { return this.value; }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text (or an attribute value) as markup: `& < > " '` escaped; escaped bytes and control characters as `\xNN`. */
export function escapeHtml(text: string): string {
  return displayName(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/** Markup with every interpolation escaped (arrays are joined; undefined, null and false render as nothing). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Markup written by this module's callers as a constant (never pass it data). */
export const raw = (markup: string): Html => new Html(markup);

export interface Nav { title: string; crumbs?: { href: string; text: string }[] }

/** A whole page: header with the site links and breadcrumbs, then `body`. */
export function page(nav: Nav, body: Html): string {
  const crumbs = (nav.crumbs ?? []).map((c, i) => html`${i ? ' / ' : ''}<a href="${c.href}">${c.text}</a>`);
  return `<!doctype html>\n${html`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${nav.title} · datamover</title><link rel="stylesheet" href="/static/style.css"></head>
<body><header><nav><a href="/" class="home">datamover</a> <a href="/">repos</a> <a href="/log">WAL</a> <a href="/readlog">read log</a></nav>
<p class="crumbs">${crumbs}</p></header>
<main><h1>${nav.title}</h1>
${body}</main></body></html>`.value}\n`;
}

/** A byte count for people: `1.5 MiB`; the exact count goes in a title attribute by the caller. */
export function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = -1;
  do { v /= 1024; u++; } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** A time as `2026-12-02 15:45:58Z` (ISO without the T and milliseconds), in a <time> element. */
export function time(iso: string | number): Html {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return html`${String(iso)}`;
  const text = `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  return html`<time datetime="${d.toISOString()}">${text}</time>`;
}

/** The octal permission bits, e.g. `0644`. */
export const octalMode = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

export const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#fafafa}
header{background:#1f2937;color:#e5e7eb;padding:.5em 1em}header a{color:#e5e7eb;margin-right:1em}
.home{font-weight:bold}.crumbs{margin:.3em 0 0;font-size:13px}.crumbs a{margin:0}
main{padding:0 1em 2em}table{border-collapse:collapse;margin:.5em 0;background:#fff}
th,td{border:1px solid #d0d7de;padding:.25em .6em;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}code,.id{font-family:ui-monospace,monospace;font-size:13px}
.label{background:#ddf4ff;border-radius:3px;padding:0 .35em;margin-right:.25em;font-size:12px}
.added{color:#116329}.removed{color:#a40e26}.changed{color:#9a6700}.error{color:#a40e26}
form.filter input,form.filter select{margin-right:.6em}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}
dt{font-weight:600}dd{margin:0}
`;
