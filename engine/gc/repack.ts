/**
 * Repack: the live blobs of mostly-unused packs are copied, each checked against its hash (a compressed one
 * after decoding it), into new packs as they are stored (compressed bytes stay compressed, with their codec),
 * and an index object for the new packs is written. Only then are the old packs condemned (by the caller), so
 * a reader finds every blob in one place or the other at every moment.
 */
import { openChunk } from '../../workers/check-chunk.js';
import { writeBlobIndex } from '../meta/blob-index.js';
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { readAll, type Storage } from '../storage/storage.js';
import type { Tuning } from '../upload/tuning.js';
import { type DurablePack, Packer } from '../upload/packer.js';
import { type IndexEntry, keys } from '../vocab.js';

export interface Repacked { packs: string[]; newPacks: number; blobs: number; bytes: number; damaged: { pack: string; reason: string }[] }

const noLease = { retain() {}, release() {} };

/** Repacks the live blobs (`live`: hash → location) of `packs`. A pack with a damaged live blob is left as it is. */
export async function repackPacks(
  storage: Storage, packs: ReadonlySet<string>, live: CompactBlobIndex, tuning: Tuning, signal?: AbortSignal,
): Promise<Repacked> {
  const byPack = new Map<string, IndexEntry[]>();
  for (const [blob, loc] of live) {
    if (!packs.has(loc.pack)) continue;
    let list = byPack.get(loc.pack);
    if (!list) byPack.set(loc.pack, list = []);
    list.push({ blob, ...loc });
  }
  const entries: IndexEntry[] = [];
  const result: Repacked = { packs: [], newPacks: 0, blobs: 0, bytes: 0, damaged: [] };
  const { minPartSize } = storage.capabilities;
  const packer = new Packer(storage, {
    packSize: Math.max(tuning.packSize, minPartSize), partSize: Math.max(tuning.partSize, minPartSize),
    partsInFlight: tuning.concurrency, maxHeldSlices: 4096, minPartSize,
  }, async (pack: DurablePack) => { entries.push(...pack.entries); result.newPacks++; });
  try {
    for (const [pack, blobs] of byPack) {
      signal?.throwIfAborted();
      const data = await readAll(storage, keys.pack(pack));
      const bad = await firstDamage(data, blobs, pack);
      if (bad) {
        result.damaged.push({ pack, reason: bad });
        continue;
      }
      for (const b of blobs) {
        await packer.add(b.blob, data.subarray(b.offset, b.offset + b.length), noLease, b.codec);
        result.blobs++;
        result.bytes += b.length;
      }
      result.packs.push(pack);
    }
    await packer.flush();
  } catch (err) {
    await packer.abort();
    throw err;
  }
  if (entries.length) await writeBlobIndex(storage, entries);
  return result;
}

/** Why the first damaged blob of `blobs` (in pack bytes `data`) cannot be used, or undefined when none is. */
async function firstDamage(data: Buffer, blobs: readonly IndexEntry[], pack: string): Promise<string | undefined> {
  for (const b of blobs) {
    const opened = await openChunk(data.subarray(b.offset, b.offset + b.length), b.length, b.codec, b.blob, pack);
    if (opened.damage !== undefined) return opened.damage;
  }
  return undefined;
}
