/** The pages about repos, bundles, labels, the two logs and diffs (bundle trees and files: tree-pages.ts). */
import type { Change } from '../meta/diff.js';
import type { ReadRecord } from '../meta/readlog.js';
import type { WalRecord } from '../meta/wal.js';
import type { Repo } from '../repo.js';
import type { BundleDescriptor, FileEntry } from '../vocab.js';
import type { ServeContext } from './context.js';
import { principalText } from '../storage/identity.js';
import { bundleRows, diffOf, labelsWithHistory, timeline, timelineFilter, who } from './data.js';
import { type Exchange, param, sendHtml } from './exchange.js';
import { type Html, html, humanBytes, page, time } from './html.js';
import { bundleUrl, fileUrl, labelsUrl, repoUrl, treeUrl, withQuery } from './links.js';
import { refParam } from './params.js';

export async function reposPage(ctx: ServeContext, ex: Exchange): Promise<void> {
  const repos = await ctx.store.listRepos();
  const rows = repos.map((r) => html`<tr><td><a href="${repoUrl(r.name)}">${r.name}</a></td><td>${r.description}</td>
<td>${time(r.created)}</td><td>${who(r.contributor)}</td><td>${principalText(r.principal)}</td></tr>`);
  const body = repos.length
    ? html`<table id="repos"><thead><tr><th>repo</th><th>description</th><th>created</th><th>contributor</th><th>principal</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<p>This store holds no repo yet.</p>`;
  sendHtml(ex, page({ title: 'Repos' }, body));
}

export async function bundlesPage(ctx: ServeContext, ex: Exchange, repo: Repo): Promise<void> {
  const described = await repo.describe();
  const { rows, damaged } = await bundleRows(repo);
  const table = rows.map(({ bundle: b, labels }) => html`<tr>
<td class="id"><a href="${bundleUrl(repo.name, b.id)}">${b.id}</a></td><td>${time(b.created)}</td>
<td>${labels.map((l) => html`<span class="label">${l}</span>`)}</td><td>${who(b.contributor)}</td><td>${principalText(b.principal)}</td><td>${b.message}</td>
<td class="num">${b.files}</td><td class="num" title="${b.bytes} bytes">${humanBytes(b.bytes)}</td></tr>`);
  const body = html`<p>${described.description}</p>
<p><a href="${labelsUrl(repo.name)}">labels</a> · <a href="${withQuery('/log', { repo: repo.name })}">WAL</a> ·
<a href="${withQuery('/readlog', { repo: repo.name })}">read log</a></p>
${rows.length ? html`<table id="bundles"><thead><tr><th>bundle</th><th>created</th><th>labels</th><th>contributor</th><th>principal</th><th>message</th>
<th class="num">files</th><th class="num">bytes</th></tr></thead><tbody>${table}</tbody></table>` : html`<p>No bundle yet.</p>`}
${damaged.length ? html`<h2>Damaged descriptors</h2><ul>${damaged.map((d) => html`<li><code>${d.key}</code>: ${d.problem}</li>`)}</ul>` : ''}
${rows.length >= 2 ? diffForm(repo.name, rows[1]!.bundle.id, rows[0]!.bundle.id) : ''}`;
  sendHtml(ex, page({ title: `Repo ${repo.name}`, crumbs: [{ href: '/', text: 'repos' }] }, body));
}

function diffForm(repo: string, a: string, b: string): Html {
  return html`<h2>Compare two bundles</h2><form class="filter" method="get" action="${repoUrl(repo)}/diff">
<label>from <input name="a" value="${a}" size="28"></label><label>to <input name="b" value="${b}" size="28"></label>
<button type="submit">diff</button></form>`;
}

export async function labelsPage(ctx: ServeContext, ex: Exchange, repo: Repo): Promise<void> {
  await repo.describe();
  const labels = await labelsWithHistory(repo);
  const sections = labels.map(({ label, history }) => html`<h2 id="label-${label.name}">${label.name}</h2>
<p>→ <a class="id" href="${bundleUrl(repo.name, label.bundle)}">${label.bundle}</a> since ${time(label.updated)} by ${who(label.contributor)}</p>
<table class="history"><thead><tr><th>when</th><th>move</th><th>contributor</th><th>principal</th></tr></thead><tbody>${history.map((r) => html`<tr>
<td>${time(r.at)}</td><td>${r.type === 'label.delete' ? 'deleted' : html`set to <a class="id" href="${bundleUrl(repo.name, String(r.bundle))}">${String(r.bundle)}</a>`}
${r.previous ? html` (was <span class="id">${String(r.previous)}</span>)` : ''}</td><td>${who(r.contributor)}</td><td>${principalText(r.principal)}</td></tr>`)}</tbody></table>`);
  const body = labels.length ? html`${sections}` : html`<p>No label in this repo.</p>`;
  sendHtml(ex, page({ title: `Labels of ${repo.name}`, crumbs: crumbsOf(repo.name) }, body));
}

export async function diffPage(ctx: ServeContext, ex: Exchange, repo: Repo): Promise<void> {
  const [a, b] = [param(ex, 'a'), param(ex, 'b')];
  if (a === undefined || b === undefined) {
    await repo.describe();
    sendHtml(ex, page({ title: `Diff in ${repo.name}`, crumbs: crumbsOf(repo.name) }, diffForm(repo.name, a ?? '', b ?? '')));
    return;
  }
  const diff = await diffOf(repo, refParam(a, 'a'), refParam(b, 'b'));
  const body = html`<p>from <a class="id" href="${bundleUrl(repo.name, diff.a.id)}">${diff.a.id}</a> to
<a class="id" href="${bundleUrl(repo.name, diff.b.id)}">${diff.b.id}</a>: ${diff.changes.length}${diff.more ? '+' : ''} changes</p>
<table id="changes"><thead><tr><th>change</th><th>path</th><th class="num">size</th></tr></thead><tbody>
${diff.changes.map((c) => changeRow(repo.name, diff.a, diff.b, c))}</tbody></table>
${diff.more ? html`<p>The list stops here; the JSON API gives the same first changes.</p>` : ''}
${diffForm(repo.name, a, b)}`;
  sendHtml(ex, page({ title: `Diff in ${repo.name}`, crumbs: crumbsOf(repo.name) }, body));
}

function changeRow(repo: string, a: BundleDescriptor, b: BundleDescriptor, c: Change): Html {
  const link = (bundle: BundleDescriptor, e: FileEntry) => (e.type === 'dir' ? treeUrl(repo, bundle.id, e.path) : fileUrl(repo, bundle.id, e.path));
  const [bundle, what] = c.kind === 'removed' ? [a, 'removed'] : [b, c.kind === 'changed' ? (c.content ? 'changed' : 'changed (mode or mtime)') : 'added'];
  const size = c.kind === 'changed' && c.before.size !== c.entry.size ? `${humanBytes(c.before.size)} → ${humanBytes(c.entry.size)}` : humanBytes(c.entry.size);
  return html`<tr class="${c.kind}"><td>${what}</td><td><a href="${link(bundle, c.entry)}">${c.entry.path}</a>${c.entry.type === 'file' ? '' : ` (${c.entry.type})`}</td>
<td class="num">${size}</td></tr>`;
}

export async function timelinePage(ctx: ServeContext, ex: Exchange, kind: 'log' | 'readlog'): Promise<void> {
  const filter = timelineFilter(ex);
  const { records, more } = await timeline(ctx.store, kind, filter);
  const repos = await ctx.store.listRepos();
  const form = html`<form class="filter" method="get" action="/${kind}"><label>repo <select name="repo"><option value="">all</option>
${repos.map((r) => html`<option${r.name === filter.repo ? html` selected` : ''}>${r.name}</option>`)}</select></label>
<label>contributor <input name="contributor" value="${filter.contributor ?? ''}"></label>
<label>since <input name="since" value="${filter.since ?? ''}" placeholder="2h, 7d or a date" size="12"></label>
<button type="submit">filter</button></form>`;
  const rows = kind === 'log'
    ? (records as WalRecord[]).map((r) => html`<tr><td>${time(r.at)}</td><td>${r.type}</td><td><a href="${repoUrl(r.repo)}">${r.repo}</a></td><td>${walDetail(r)}</td><td>${who(r.contributor)}</td><td>${principalText(r.principal)}</td></tr>`)
    : (records as ReadRecord[]).map((r) => html`<tr><td>${time(r.at)}</td><td>${r.type}</td><td><a href="${repoUrl(r.repo)}">${r.repo}</a></td>
<td><a class="id" href="${bundleUrl(r.repo, r.bundle)}">${r.bundle}</a></td><td class="num">${r.files}</td><td class="num" title="${r.bytes} bytes">${humanBytes(r.bytes)}</td>
<td>${who(r.contributor)}</td><td>${principalText(r.principal)}</td><td>${r.client ?? ''}</td><td>${r.outcome ?? ''}</td></tr>`);
  const head = kind === 'log' ? html`<th>when</th><th>type</th><th>repo</th><th>what</th><th>contributor</th><th>principal</th>`
    : html`<th>when</th><th>read</th><th>repo</th><th>bundle</th><th class="num">files</th><th class="num">bytes</th><th>contributor</th><th>principal</th><th>client</th><th>outcome</th>`;
  const body = html`${form}<p>${records.length} records, newest first${more ? html` (older ones left out: <a href="${withQuery(`/${kind}`, { ...filter, limit: Math.min(filter.limit * 5, 10_000) })}">more</a>)` : ''}</p>
<table id="timeline"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
  sendHtml(ex, page({ title: kind === 'log' ? 'WAL' : 'Read log' }, body));
}

function walDetail(r: WalRecord): Html {
  const bundle = (id: unknown) => (typeof id === 'string' && id ? html`<a class="id" href="${bundleUrl(r.repo, id)}">${id}</a>` : html`nothing`);
  switch (r.type) {
    case 'label.set': return html`${String(r.label)} → ${bundle(r.bundle)} (was ${bundle(r.previous)})`;
    case 'label.delete': return html`${String(r.label)} deleted (was ${bundle(r.previous)})`;
    case 'bundle.commit': return html`${bundle(r.bundle)}${r.message ? html` "${String(r.message)}"` : ''}`;
    case 'session.start': return html`session ${String(r.session)}`;
    default: return html``;
  }
}

export const crumbsOf = (repo: string) => [{ href: '/', text: 'repos' }, { href: repoUrl(repo), text: repo }];
