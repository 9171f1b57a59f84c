/**
 * The JSON API under `/api/` (README "Serve"): the data of the pages, as JSON. Errors are
 * `{"error": {"code", "message"}}` with the same statuses as the pages.
 */
import type { ReaderEntry } from '../read/bundle-reader.js';
import type { ServeContext } from './context.js';
import { bundleRows, diffOf, summary, timeline, timelineFilter } from './data.js';
import { type Exchange, badRequest, notFoundHere, param, sendJson } from './exchange.js';
import { type BundleTarget, nameParam, refParam, repoParam } from './params.js';
import { childrenOf, entryAt, listingWindow, withReader } from './tree-pages.js';
import { pathFromQuery } from './url-path.js';

export async function apiRoute(ctx: ServeContext, ex: Exchange, s: string[]): Promise<void> {
  if (s.length === 1 && s[0] === 'repos') return sendJson(ex, { repos: await ctx.store.listRepos() });
  if (s.length === 1 && (s[0] === 'log' || s[0] === 'readlog')) {
    const { records, more } = await timeline(ctx.store, s[0], timelineFilter(ex));
    return sendJson(ex, { records, more });
  }
  if (s[0] !== 'repos' || s.length < 2) throw notFoundHere('API path');
  const repo = repoParam(ctx, s[1]);
  const rest = s.slice(2);
  if (rest.length === 0) {
    const [descriptor, labels] = await Promise.all([repo.describe(), repo.labels()]);
    return sendJson(ex, { repo: descriptor, labels });
  }
  if (rest.length === 1 && rest[0] === 'bundles') {
    const { rows, damaged } = await bundleRows(repo);
    return sendJson(ex, { bundles: rows.map((r) => ({ ...summary(r.bundle), labels: r.labels })), damaged });
  }
  if (rest.length === 1 && rest[0] === 'labels') return sendJson(ex, { labels: await repo.labels() });
  if (rest.length === 2 && rest[0] === 'labels') {
    const name = nameParam(rest[1]);
    if (name === undefined) throw notFoundHere('label');
    const [label, history] = await Promise.all([repo.label(name), repo.labelHistory(name)]);
    return sendJson(ex, { label, history });
  }
  if (rest.length === 1 && rest[0] === 'diff') {
    const [a, b] = [param(ex, 'a'), param(ex, 'b')];
    if (a === undefined || b === undefined) throw badRequest('diff: give two refs, a and b');
    const diff = await diffOf(repo, refParam(a, 'a'), refParam(b, 'b'));
    return sendJson(ex, { a: summary(diff.a), b: summary(diff.b), changes: diff.changes, more: diff.more });
  }
  if (rest[0] !== 'bundles' || rest.length < 2 || rest.length > 3) throw notFoundHere('API path');
  const ref = nameParam(rest[1]);
  if (ref === undefined) throw notFoundHere('bundle');
  if (rest.length === 2) return sendJson(ex, { bundle: await repo.resolve(ref) });
  if (rest[2] !== 'tree') throw notFoundHere('API path');
  const path = pathFromQuery(ex.query.get('path'));
  if (path === undefined) throw notFoundHere('path');
  return sendTree(ctx, ex, { repo, ref, path });
}

/** `.../tree?path=`: the entry at `path`, and a directory's children (a window: `after`, `limit`). */
async function sendTree(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  await withReader(ctx, ex, t, async (reader) => {
    const entry = await entryAt(reader, t);
    if (entry.type !== 'dir') return sendJson(ex, { bundle: reader.bundle.id, entry: entryJson(entry) });
    const window = listingWindow(ex);
    const { children, more } = await childrenOf(reader, t.path, window.after, window.limit);
    sendJson(ex, { bundle: reader.bundle.id, entry: entryJson(entry), children: children.map(entryJson), more });
  });
}

/** An entry as the API shows it: the reader's fields, without the chunk list and the file cache's keys. */
function entryJson({ entry, ...fields }: ReaderEntry) {
  return {
    ...fields, ...(entry.hardlink ? { hardlink: entry.hardlink } : {}), ...(fields.type === 'file' ? { chunks: entry.chunks?.length ?? 0 } : {}),
  };
}
