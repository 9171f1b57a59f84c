/**
 * The blob index: which pack holds each blob. Index objects are written only after their packs are durable
 * (DESIGN §6), so every entry read here points at bytes that exist.
 */
import { readAll, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';
import { CompactBlobIndex } from './compact-index.js';
import { newId } from './ids.js';
import { gunzipLines, gzipLines } from './objects.js';

/** Loads every index object of the store into one compact map, blob hash → location. */
export async function loadBlobIndex(storage: Storage): Promise<CompactBlobIndex> {
  const index = new CompactBlobIndex();
  const indexKeys: string[] = [];
  for await (const entry of storage.list(keys.indexPrefix)) indexKeys.push(entry.key);
  const load = async (key: string) => {
    for (const e of gunzipLines<IndexEntry>(await readAll(storage, key))) {
      index.set(e.blob, e);
    }
  };
  for (let i = 0; i < indexKeys.length; i += 16) await Promise.all(indexKeys.slice(i, i + 16).map(load));
  return index;
}

/** Writes one index object for entries of durable packs. Returns its key. */
export async function writeBlobIndex(storage: Storage, entries: readonly IndexEntry[]): Promise<string> {
  const key = keys.index(newId());
  await storage.put(key, gzipLines(entries), { ifAbsent: true });
  return key;
}
