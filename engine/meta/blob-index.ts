/**
 * The blob index: which pack holds each blob. Index objects are written only after their packs are durable
 * (DESIGN §6), so every entry read here points at bytes that exist.
 */
import { integrityError, isDatamoverError } from '../errors.js';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';
import { CompactBlobIndex } from './compact-index.js';
import { newId } from './ids.js';
import { gunzipLines, gzipLines } from './objects.js';
import { indexEntry } from './validate.js';

/** An index object that could not be read whole: none of its entries were taken. */
export interface DamagedIndex { key: string; problem: string }

/** The loaded index, and the index objects left out because they are damaged. */
export class LoadedBlobIndex extends CompactBlobIndex {
  readonly damaged: DamagedIndex[] = [];

  /**
   * Why a chunk may be missing from this index, to append to the error that names it: the damaged index
   * objects (which may have held it), or '' when every index object was read.
   */
  missingHint(): string {
    if (!this.damaged.length) return '';
    const names = this.damaged.slice(0, 3).map((d) => d.key).join(', ');
    return `; ${this.damaged.length} index object(s) are damaged and may have held it: ${names}${this.damaged.length > 3 ? ', ...' : ''} (see datamover fsck)`;
  }
}

/**
 * Loads every index object of the store into one compact map, blob hash → location. An object that cannot
 * be read, gunzipped, parsed or validated is left out whole (none of its entries are trusted): with
 * `tolerateDamage`, it is recorded in `damaged` and loading goes on, so reads whose chunks are indexed
 * elsewhere still work; without, the load fails with INTEGRITY naming it.
 *
 * Uploads load strictly, on purpose: with a partial index an upload would only store again chunks that the
 * damaged object indexed (safe, but silent), and the damage would stay unnoticed while more bundles come to
 * depend on the store; refusing names the object and points at fsck, which lists every damaged object.
 */
export async function loadBlobIndex(storage: Storage, opts: { tolerateDamage?: boolean } = {}): Promise<LoadedBlobIndex> {
  const index = new LoadedBlobIndex();
  const indexKeys: string[] = [];
  for await (const entry of storage.list(keys.indexPrefix)) indexKeys.push(entry.key);
  const load = async (key: string) => {
    let entries: IndexEntry[];
    try {
      entries = gunzipLines(key, await readAll(storage, key), indexEntry);
    } catch (err) {
      if (!isDatamoverError(err, 'INTEGRITY') && !isStorageError(err, 'notFound')) throw err;
      const problem = isStorageError(err, 'notFound') ? `${key}: vanished while the index was read` : (err as Error).message;
      if (!opts.tolerateDamage) throw integrityError(`index object ${problem}; run datamover fsck`);
      index.damaged.push({ key, problem });
      return;
    }
    for (const e of entries) index.set(e.blob, e);
  };
  for (let i = 0; i < indexKeys.length; i += 16) await Promise.all(indexKeys.slice(i, i + 16).map(load));
  index.damaged.sort((a, b) => (a.key < b.key ? -1 : 1));
  return index;
}

/** Writes one index object for entries of durable packs. Returns its key. */
export async function writeBlobIndex(storage: Storage, entries: readonly IndexEntry[]): Promise<string> {
  const key = keys.index(newId());
  await storage.put(key, gzipLines(entries), { ifAbsent: true });
  return key;
}
