/**
 * Mark (docs/gc.md, "What is live"): every manifest page of the store's live repos — committed or still being
 * committed — and of open sessions is read, and each chunk it names is claimed in a compact set; the index
 * snapshot then places each claim at its location. Memory grows with the distinct chunks, not the files.
 */
import { CompactBlobIndex } from '../meta/compact-index.js';
import { forEachPageChunk } from '../meta/page-chunks.js';
import { listRepos } from '../meta/repos.js';
import { forEachLimited } from '../runtime/concurrency.js';
import { isStorageError, type ListEntry, readSized, type Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import type { IndexSnapshot } from './index-snapshot.js';

/** The chunks the pages name, claimed, not yet placed. */
export interface Claimed {
  /** Every chunk a page names (claimed: no location yet). */
  live: CompactBlobIndex;
  /** The pages read (or carried over from an earlier claim). */
  pageKeys: Set<string>;
  /** Repos whose repo.json exists. */
  repos: string[];
}

/** What a mark found live. */
export interface Marked extends Claimed {
  /** Live chunks, each placed at the location the index gives for it; those no index names stay unplaced. */
  live: CompactBlobIndex;
  /** Pack → bytes of its live blobs. */
  livePackBytes: Map<string, number>;
  /** Live chunks that no index names (a damaged store: fsck says more). */
  unindexed: number;
}

export interface ClaimOptions {
  signal?: AbortSignal;
  /** Pages already read (pages never change once written): only the others are read. */
  skip?: ReadonlySet<string>;
}

const PAGES_AT_ONCE = 8;

/**
 * Claims in `live` every chunk named by a page under the live repos' bundle folders and under
 * `meta/sessions/`. A page that cannot be read whole fails the claim (INTEGRITY naming it): a collector that
 * cannot tell what a page needs deletes nothing. A page deleted since the listing is passed by (a forgotten
 * bundle, or a session committed meanwhile, whose bundle pages a later listing finds).
 */
export async function claimLiveChunks(storage: Storage, live: CompactBlobIndex, opts: ClaimOptions = {}): Promise<Claimed> {
  const repos = (await listRepos(storage)).map((r) => r.name);
  const pages: ListEntry[] = [];
  const isNew = (key: string) => isPageKey(key) && !opts.skip?.has(key);
  for (const repo of repos) {
    for await (const e of storage.list(keys.bundlesPrefix(repo))) if (isNew(e.key)) pages.push(e);
  }
  for await (const e of storage.list('meta/sessions/')) if (isNew(e.key)) pages.push(e);
  const claimed: Claimed = { live, pageKeys: new Set(opts.skip), repos };
  // About 58 gzipped bytes an entry of one chunk: the table is sized once, not doubled on the way.
  live.reserve(live.size + pages.reduce((sum, p) => sum + (p.size ?? 0), 0) / 64);
  await forEachLimited(pages, PAGES_AT_ONCE, async ({ key, size }) => {
    opts.signal?.throwIfAborted();
    const data = await readPage(storage, key, size);
    if (!data) return;
    await forEachPageChunk(key, data, (hash) => live.claimWords(hash, 0));
    claimed.pageKeys.add(key);
  });
  return claimed;
}

/**
 * Places the claims of `claimed` through `snapshot` (an entry in a `deferred` pack only when its blob has no
 * other) and sums the live bytes of each pack.
 */
export function placeClaims(claimed: Claimed, snapshot: IndexSnapshot, deferred: ReadonlySet<string>): Marked {
  snapshot.place(claimed.live, deferred);
  const livePackBytes = new Map<string, number>();
  claimed.live.forEachLocation((pack, _offset, length) => livePackBytes.set(pack, (livePackBytes.get(pack) ?? 0) + length));
  return { ...claimed, livePackBytes, unindexed: claimed.live.unplaced };
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
