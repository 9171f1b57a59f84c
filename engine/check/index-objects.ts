/**
 * The blob index as fsck needs it: every index object that can be read, and the ones that cannot, named
 * (a damaged index object is a problem to report, not a reason to stop checking).
 */
import { CompactBlobIndex } from '../meta/compact-index.js';
import { gunzipLines } from '../meta/objects.js';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';

export interface IndexObjects { index: CompactBlobIndex; objects: number; damaged: { key: string; reason: string }[] }

const AT_ONCE = 16;

/** Loads every readable index object into one index; unreadable or malformed ones are listed in `damaged`. */
export async function loadIndexObjects(storage: Storage): Promise<IndexObjects> {
  const indexKeys: string[] = [];
  for await (const entry of storage.list(keys.indexPrefix)) indexKeys.push(entry.key);
  const result: IndexObjects = { index: new CompactBlobIndex(), objects: indexKeys.length, damaged: [] };
  const load = async (key: string) => {
    try {
      const entries = gunzipLines<IndexEntry>(await readAll(storage, key));
      const bad = entries.find((e) => !wellFormed(e));
      if (bad) throw new Error(`malformed entry ${JSON.stringify(bad).slice(0, 80)}`);
      for (const e of entries) result.index.set(e.blob, e);
    } catch (err) {
      if (isStorageError(err, 'notFound')) return; // removed since the listing (a repair): nothing to check
      if (isStorageError(err)) throw err;
      result.damaged.push({ key, reason: err instanceof Error ? err.message : String(err) });
    }
  };
  for (let i = 0; i < indexKeys.length; i += AT_ONCE) await Promise.all(indexKeys.slice(i, i + AT_ONCE).map(load));
  return result;
}

function wellFormed(e: IndexEntry): boolean {
  return typeof e === 'object' && e !== null && typeof e.blob === 'string' && /^[0-9a-f]{64}$/.test(e.blob)
    && typeof e.pack === 'string' && /^[0-9a-f]{64}$/.test(e.pack)
    && Number.isSafeInteger(e.offset) && e.offset >= 0 && Number.isSafeInteger(e.length) && e.length >= 0;
}
