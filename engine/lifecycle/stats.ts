/**
 * `repo stats` / `stats`: how much a repo (and the store) holds, from descriptors, manifests and the index.
 * Logical bytes are the files' sizes summed over bundles; stored bytes are the unique chunks the bundles
 * reference, each counted once at its length in the index — so a chunk shared by two repos counts once in the
 * store's total and once in each repo's. Manifests are streamed, one page at a time.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { listBundles } from '../meta/bundles.js';
import { readEntries } from '../meta/manifest.js';
import { listRepos } from '../meta/repos.js';
import { listPacks } from '../meta/blob-index.js';
import type { Storage } from '../storage/storage.js';

export interface UsageStats {
  bundles: number;
  /** Regular files, summed over bundles. */
  files: number;
  /** File bytes, summed over bundles. */
  logicalBytes: number;
  /** Unique chunks the bundles reference. */
  chunks: number;
  /** Those chunks' bytes in packs (their index lengths). */
  storedBytes: number;
  /** logicalBytes / storedBytes; null when nothing is stored. */
  dedupRatio: number | null;
  /** Referenced chunks that no index object lists (see datamover fsck); their bytes are not counted. */
  unindexedChunks: number;
}

export interface RepoStats extends UsageStats { repo: string }

export interface StoreStats extends UsageStats {
  repos: RepoStats[];
  /** Every pack of the store and their size: what the store holds, referenced or not. */
  packs: number;
  packBytes: number;
}

/** Totals that add chunks once each. */
class Tally {
  readonly seen = new Set<string>();
  bundles = 0;
  files = 0;
  logicalBytes = 0;
  storedBytes = 0;
  unindexed = 0;

  constructor(private readonly index: CompactBlobIndex) {}

  chunk(hash: string): void {
    if (this.seen.has(hash)) return;
    this.seen.add(hash);
    const at = this.index.get(hash);
    if (at) this.storedBytes += at.length;
    else this.unindexed++;
  }

  result(): UsageStats {
    return {
      bundles: this.bundles, files: this.files, logicalBytes: this.logicalBytes, chunks: this.seen.size,
      storedBytes: this.storedBytes, dedupRatio: this.storedBytes ? this.logicalBytes / this.storedBytes : null,
      unindexedChunks: this.unindexed,
    };
  }
}

/** Stats of one repo. NOT_FOUND for the repo, INTEGRITY for a damaged descriptor or page. */
export function repoStats(storage: Storage, repo: string, index: CompactBlobIndex): Promise<RepoStats> {
  return tallyRepo(storage, repo, index);
}

/** Stats of one repo; `store`, when given, also counts its bundles and chunks. */
async function tallyRepo(storage: Storage, repo: string, index: CompactBlobIndex, store?: Tally): Promise<RepoStats> {
  const tally = new Tally(index);
  for (const bundle of await listBundles(storage, repo)) {
    for (const t of store ? [tally, store] : [tally]) {
      t.bundles++;
      t.files += bundle.files;
      t.logicalBytes += bundle.bytes;
    }
    for await (const entry of readEntries(storage, bundle.pages)) {
      for (const [hash] of entry.chunks ?? []) {
        tally.chunk(hash);
        store?.chunk(hash);
      }
    }
  }
  return { repo, ...tally.result() };
}

/** Stats of every repo and of the whole store. */
export async function storeStats(storage: Storage, index: CompactBlobIndex): Promise<StoreStats> {
  const store = new Tally(index);
  const repos: RepoStats[] = [];
  for (const r of await listRepos(storage)) repos.push(await tallyRepo(storage, r.name, index, store));
  const packs = await listPacks(storage);
  let packBytes = 0;
  for (const size of packs.values()) packBytes += size;
  return { ...store.result(), repos, packs: packs.size, packBytes };
}
