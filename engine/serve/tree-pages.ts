/** A bundle's pages: its descriptor and root, a directory, a file. Listings come from the reader (manifest pages). */
import type { BundleReader, ReaderEntry } from '../read/bundle-reader.js';
import type { ServeContext } from './context.js';
import { principalText } from '../storage/identity.js';
import { who } from './data.js';
import { type Exchange, badRequest, notFoundHere, param, redirect, sendHtml } from './exchange.js';
import { type Html, html, humanBytes, octalMode, page, time } from './html.js';
import { bundleUrl, fileUrl, rawUrl, repoUrl, tarUrl, treeUrl, withQuery } from './links.js';
import type { BundleTarget } from './params.js';
import { encodeName, nameFromSegment } from './url-path.js';
import { lineageSvg } from './lineage-svg.js';
import type { Repo } from '../repo.js';
import type { BundleDescriptor } from '../vocab.js';

export const DEFAULT_LISTED = 1_000;
export const MAX_LISTED = 10_000;

/** Runs `fn` with a reader of the target's bundle (not logged: listings read no file bytes), closed after. */
export async function withReader<T>(ctx: ServeContext, ex: Exchange, t: BundleTarget, fn: (reader: BundleReader) => Promise<T>): Promise<T> {
  const reader = await ctx.openReader(ex, t.repo, t.ref, false);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}

/** The entry at the target's path; 404 when the bundle has none. */
export async function entryAt(reader: BundleReader, t: BundleTarget): Promise<ReaderEntry> {
  const entry = await reader.stat(t.path);
  if (!entry) throw notFoundHere(`${t.path || '/'} in bundle ${reader.bundle.id}`);
  return entry;
}

/** One page of a directory: up to `limit` children after the name `after`; `more` when there are others. */
export async function childrenOf(reader: BundleReader, dir: string, after: string | undefined, limit: number) {
  const children: ReaderEntry[] = [];
  for await (const child of reader.list(dir)) {
    if (after !== undefined && baseName(child.path) <= after) continue;
    if (children.length === limit) return { children, more: true };
    children.push(child);
  }
  return { children, more: false };
}

/** `limit` and `after` from the query; 400 when limit is malformed. */
export function listingWindow(ex: Exchange): { after?: string; limit: number } {
  const text = param(ex, 'limit');
  const limit = text === undefined ? DEFAULT_LISTED : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LISTED) throw badRequest(`limit: expected an integer from 1 to ${MAX_LISTED}`);
  const after = ex.query.get('after');
  return { after: after === undefined || after === '' ? undefined : nameFromSegment(after) ?? '', limit };
}

export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

export async function bundlePage(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  await withReader(ctx, ex, t, async (reader) => {
    const b = reader.bundle;
    const labels = (await t.repo.labels()).filter((l) => l.bundle === b.id).map((l) => l.name);
    const info = html`<dl id="bundle">
<dt>id</dt><dd class="id">${b.id}</dd><dt>created</dt><dd>${time(b.created)}</dd>
<dt>contributor</dt><dd>${who(b.contributor)}</dd><dt>principal</dt><dd>${principalText(b.principal)}</dd><dt>message</dt><dd>${b.message}</dd>
<dt>labels</dt><dd>${labels.map((l) => html`<span class="label">${l}</span>`)}</dd>
<dt>files</dt><dd>${b.files}</dd><dt>bytes</dt><dd title="${b.bytes} bytes">${humanBytes(b.bytes)}</dd>
<dt>parents</dt><dd>${b.parents.map((p) => html`<a class="id" href="${bundleUrl(t.repo.name, p)}">${p}</a>
(<a href="${withQuery(`${repoUrl(t.repo.name)}/diff`, { a: p, b: b.id })}">diff</a>) `)}</dd></dl>`;
    const listing = await listingOf(ex, reader, t, '');
    const lineage = await lineageSection(t.repo, b);
    sendHtml(ex, page({ title: `Bundle ${b.id}`, crumbs: crumbs(t, b.id, '') }, html`${info}${lineage}<h2>Files</h2>${listing}`));
  });
}

/** Lineage steps drawn on a bundle's page; the lineage page draws them all. */
const PAGE_DEPTH = 5;

/** What the bundle was made from, drawn (when it records inputs), and a link to the lineage page either way. */
async function lineageSection(repo: Repo, b: BundleDescriptor): Promise<Html> {
  const links = html`<p><a href="${withQuery(`${bundleUrl(repo.name, b.id)}/lineage/`, { direction: 'up' })}">made from</a> ·
<a href="${withQuery(`${bundleUrl(repo.name, b.id)}/lineage/`, { direction: 'down' })}">made from it</a></p>`;
  if (!b.inputs?.length) return html`<h2>Lineage</h2><p>It records no inputs.</p>${links}`;
  const graph = await repo.lineage(b.id, { direction: 'up', depth: PAGE_DEPTH });
  return html`<h2>Lineage</h2><div id="lineage">${await lineageSvg(graph)}</div>${links}`;
}

/** `.../lineage/?direction=up|down`: the whole lineage graph of the bundle, drawn. */
export async function lineagePage(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  if (t.path) throw notFoundHere('page');
  const direction = param(ex, 'direction') ?? 'up';
  if (direction !== 'up' && direction !== 'down') throw badRequest('direction: expected up or down');
  const b = await t.repo.resolve(t.ref);
  const graph = await t.repo.lineage(b.id, { direction });
  const what = direction === 'up' ? 'what it was made from' : 'what was made from it';
  const body = html`<p>${graph.nodes.length - 1} bundle(s) ${what}; data flows along the arrows.</p><div id="lineage">${await lineageSvg(graph)}</div>`;
  sendHtml(ex, page({ title: `Lineage of ${b.id}`, crumbs: crumbs(t, b.id, '') }, body));
}

export async function treePage(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  await withReader(ctx, ex, t, async (reader) => {
    const entry = await entryAt(reader, t);
    if (entry.type !== 'dir') return redirect(ex, fileUrl(t.repo.name, reader.bundle.id, t.path));
    const listing = await listingOf(ex, reader, t, t.path);
    sendHtml(ex, page({ title: t.path ? `/${t.path}/` : '/', crumbs: crumbs(t, reader.bundle.id, t.path) }, listing));
  });
}

async function listingOf(ex: Exchange, reader: BundleReader, t: BundleTarget, dir: string): Promise<Html> {
  const window = listingWindow(ex);
  const { children, more } = await childrenOf(reader, dir, window.after, window.limit);
  const id = reader.bundle.id;
  const rows = children.map((c) => {
    const name = baseName(c.path);
    const link = c.type === 'dir' ? html`<a href="${treeUrl(t.repo.name, id, c.path)}">${name}/</a>` : html`<a href="${fileUrl(t.repo.name, id, c.path)}">${name}</a>`;
    return html`<tr><td>${link}${c.type === 'symlink' ? html` → <code>${c.target ?? ''}</code>` : ''}</td><td>${c.type}</td>
<td class="num" title="${c.size} bytes">${c.type === 'file' ? humanBytes(c.size) : ''}</td><td><code>${octalMode(c.mode)}</code></td><td>${time(c.mtimeMs)}</td></tr>`;
  });
  const after = more ? encodeName(baseName(children[children.length - 1]!.path)) : '';
  const next = more ? html`<p><a href="${treeUrl(t.repo.name, id, dir)}?after=${after}&limit=${window.limit}">next ${window.limit}</a></p>` : '';
  return html`<p><a href="${tarUrl(t.repo.name, id, dir)}">download ${dir ? 'this directory' : 'the bundle'} as .tar</a></p>
<table id="listing"><thead><tr><th>name</th><th>type</th><th class="num">size</th><th>mode</th><th>modified</th></tr></thead>
<tbody>${rows}</tbody></table>${children.length ? '' : html`<p>Empty directory.</p>`}${next}`;
}

export async function filePage(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  await withReader(ctx, ex, t, async (reader) => {
    const e = await entryAt(reader, t);
    const id = reader.bundle.id;
    if (e.type === 'dir') return redirect(ex, treeUrl(t.repo.name, id, t.path));
    const body = html`<dl id="file"><dt>path</dt><dd><code>${e.path}</code></dd><dt>type</dt><dd>${e.type}</dd>
${e.type === 'symlink' ? html`<dt>target</dt><dd><code>${e.target ?? ''}</code></dd>` : html`<dt>size</dt><dd id="size">${e.size} bytes (${humanBytes(e.size)})</dd>`}
<dt>mode</dt><dd><code>${octalMode(e.mode)}</code></dd><dt>modified</dt><dd>${time(e.mtimeMs)}</dd>
${e.type === 'file' ? html`<dt>chunks</dt><dd>${e.entry.chunks?.length ?? 0}</dd>` : ''}</dl>
${e.type === 'file' ? html`<p><a id="download" href="${rawUrl(t.repo.name, id, e.path)}" download="${baseName(e.path)}">download</a> ·
<a href="${rawUrl(t.repo.name, id, e.path)}">open</a></p>` : ''}`;
    sendHtml(ex, page({ title: baseName(e.path), crumbs: crumbs(t, id, t.path) }, body));
  });
}

/** repos / repo / bundle / each directory above `path`. */
function crumbs(t: BundleTarget, id: string, path: string) {
  const out = [{ href: '/', text: 'repos' }, { href: repoUrl(t.repo.name), text: t.repo.name }, { href: bundleUrl(t.repo.name, id), text: id }];
  const names = path ? path.split('/') : [];
  for (let i = 0; i < names.length - 1; i++) out.push({ href: treeUrl(t.repo.name, id, names.slice(0, i + 1).join('/')), text: names[i]! });
  return out;
}
