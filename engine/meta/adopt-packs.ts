/**
 * Indexing packs from their trailers: packs that landed but that no index object names (an upload killed
 * between a pack and its checkpoint), or whose index object is damaged. Every blob a trailer lists is read and
 * hashed before it is indexed, so a damaged pack never becomes a dedup target.
 */
import type { Storage } from '../storage/storage.js';
import type { IndexEntry } from '../vocab.js';
import { writeBlobIndex } from './blob-index.js';
import type { CompactBlobIndex } from './compact-index.js';
import { readTrailer, verifyListed } from './pack-trailer.js';

const PACKS_AT_ONCE = 4;

export interface Adoption {
  /** The index object written for the newly indexed blobs, if any. */
  key?: string;
  packs: number;
  blobs: number;
  bytes: number;
  /** Packs written before packs had trailers: they cannot be indexed from themselves. */
  noTrailer: string[];
  /** Packs whose trailer is unusable, or with blobs whose bytes do not match their hash. */
  damaged: { pack: string; reason: string }[];
}

/**
 * Indexes the blobs of `packs` (id → size) that `index` lacks, from each pack's trailer; adds them to `index`
 * and writes one index object for them. A pack whose every listed blob is indexed already is not read further.
 */
export async function adoptPacks(storage: Storage, index: CompactBlobIndex, packs: Iterable<[string, number]>): Promise<Adoption> {
  const result: Adoption = { packs: 0, blobs: 0, bytes: 0, noTrailer: [], damaged: [] };
  const found: IndexEntry[] = [];
  const queue = [...packs];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const entries = await adoptOne(storage, index, next[0], next[1], result);
      if (!entries.length) continue;
      result.packs++;
      for (const e of entries) { result.blobs++; result.bytes += e.length; }
      found.push(...entries);
    }
  };
  await Promise.all(Array.from({ length: PACKS_AT_ONCE }, worker));
  for (const e of found) index.set(e.blob, e);
  if (found.length) result.key = await writeBlobIndex(storage, found);
  return result;
}

async function adoptOne(storage: Storage, index: CompactBlobIndex, pack: string, size: number, result: Adoption): Promise<IndexEntry[]> {
  const trailer = await readTrailer(storage, pack, size);
  if (trailer.kind === 'none') result.noTrailer.push(pack);
  if (trailer.kind === 'damaged') result.damaged.push({ pack, reason: trailer.reason });
  if (trailer.kind !== 'listed') return [];
  const missing = trailer.entries.filter((e) => !index.has(e.blob));
  if (!missing.length) return [];
  const { good, bad } = await verifyListed(storage, pack, missing, trailer.dataEnd);
  if (bad.length) result.damaged.push({ pack, reason: `${bad.length} blob(s) do not match their hash (first ${bad[0]!.slice(0, 12)})` });
  return good;
}
