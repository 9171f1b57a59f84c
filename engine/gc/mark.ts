/**
 * Mark (docs/gc.md, "What is live"): every manifest page of the store's live repos — committed or still being
 * committed — and of open sessions is read, and each chunk it names is found in the index. Pages are read one
 * at a time per reader slot; the live set is a compact index, so memory grows with the chunks, not the files.
 */
import type { LoadedBlobIndex } from '../meta/blob-index.js';
import { CompactBlobIndex } from '../meta/compact-index.js';
import { gunzipLines } from '../meta/objects.js';
import { listRepos } from '../meta/repos.js';
import { manifestEntry } from '../meta/validate.js';
import { forEachLimited } from '../runtime/concurrency.js';
import { isStorageError, type ListEntry, readSized, type Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';

/** What a mark found live. */
export interface Marked {
  /** Live chunks, each at the location the index gives for it. */
  live: CompactBlobIndex;
  /** Pack → bytes of its live blobs. */
  livePackBytes: Map<string, number>;
  /** Live chunks that no index names (a damaged store: fsck says more). */
  unindexed: number;
  pages: number;
  /** The pages read (or carried over from an earlier mark). */
  pageKeys: Set<string>;
  /** Repos whose repo.json exists. */
  repos: string[];
}

const PAGES_AT_ONCE = 8;

/**
 * Marks from every page under the live repos' bundle folders and under `meta/sessions/`. A page that cannot be
 * read whole fails the mark (INTEGRITY naming it): a collector that cannot tell what a page needs deletes nothing.
 *
 * With `earlier` (the same run's first mark), its live chunks are marked again through `index` and only pages
 * it did not read are read: pages are written once and never change, so a page read before names the same
 * chunks now (one deleted since is still counted, which can only keep a pack longer).
 */
export async function markLive(storage: Storage, index: LoadedBlobIndex, signal?: AbortSignal, earlier?: Marked): Promise<Marked> {
  const repos = (await listRepos(storage)).map((r) => r.name);
  const pages: ListEntry[] = [];
  const isNew = (key: string) => isPageKey(key) && !earlier?.pageKeys.has(key);
  for (const repo of repos) {
    for await (const e of storage.list(keys.bundlesPrefix(repo))) if (isNew(e.key)) pages.push(e);
  }
  for await (const e of storage.list('meta/sessions/')) if (isNew(e.key)) pages.push(e);
  const marked: Marked = {
    live: new CompactBlobIndex(Math.max(1024, index.size)), livePackBytes: new Map(), unindexed: 0, pages: earlier?.pages ?? 0,
    pageKeys: new Set(earlier?.pageKeys), repos,
  };
  if (earlier) for (const [hash] of earlier.live) markChunk(marked, index, hash);
  await forEachLimited(pages, PAGES_AT_ONCE, async ({ key, size }) => {
    signal?.throwIfAborted();
    const data = await readPage(storage, key, size);
    if (!data) return; // deleted since the listing: a forgotten bundle, or a session committed meanwhile
    for (const entry of gunzipLines(key, data, manifestEntry)) {
      for (const [hash] of entry.chunks ?? []) markChunk(marked, index, hash);
    }
    marked.pages++;
    marked.pageKeys.add(key);
  });
  return marked;
}

function markChunk(marked: Marked, index: LoadedBlobIndex, hash: string): void {
  if (marked.live.has(hash)) return;
  const location = index.get(hash);
  if (!location) {
    marked.unindexed++;
    return;
  }
  marked.live.set(hash, location);
  marked.livePackBytes.set(location.pack, (marked.livePackBytes.get(location.pack) ?? 0) + location.length);
}

/** A page's bytes (pages never change once written: `size` as listed), or undefined when it is gone. */
async function readPage(storage: Storage, key: string, size: number | undefined): Promise<Buffer | undefined> {
  try {
    return await readSized(storage, key, size);
  } catch (err) {
    if (isStorageError(err, 'notFound')) return undefined;
    throw err;
  }
}

export const isPageKey = (key: string): boolean => /\/manifest-[^/]*\.ndjson\.gz$/.test(key);
