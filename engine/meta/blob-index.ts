/**
 * The blob index: which pack holds each blob. Index objects are written only after their packs are durable
 * (DESIGN §6), so every entry read here points at bytes that exist.
 */
import { integrityError, isDatamoverError } from '../errors.js';
import { isStorageError, readSized, type Storage } from '../storage/storage.js';
import { type IndexEntry, keys } from '../vocab.js';
import { CompactBlobIndex } from './compact-index.js';
import { condemnedPacks } from '../gc/records.js';
import { newId } from './ids.js';
import { type IndexEntrySink, decodeIndexText } from './index-lines.js';
import { gunzipLines, gunzippedMembers, gzipLines } from './objects.js';
import { indexEntry } from './validate.js';

/** An index object that could not be read whole: none of its entries were taken. */
export interface DamagedIndex { key: string; problem: string }

/** The loaded index, and the index objects left out because they are damaged. */
export class LoadedBlobIndex extends CompactBlobIndex {
  readonly damaged: DamagedIndex[] = [];
  /** The index objects read (a collector replaces exactly these, never one written after the load). */
  readonly objectKeys: string[] = [];

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

export interface IndexLoadOptions {
  /** Leave out damaged index objects (recorded in `damaged`) instead of failing. */
  tolerateDamage?: boolean;
  /**
   * A writer's load (docs/gc.md, writer step 1): entries in condemned packs are left out, so the writer never
   * deduplicates against a pack a collector may delete. Readers' loads keep them as a last resort.
   */
  forWriter?: boolean;
  /** The condemned packs, when the caller has them; read from the store otherwise. */
  condemned?: ReadonlySet<string>;
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
export async function loadBlobIndex(storage: Storage, opts: IndexLoadOptions = {}): Promise<LoadedBlobIndex> {
  const index = new LoadedBlobIndex();
  const indexKeys: string[] = [];
  for await (const entry of storage.list(keys.indexPrefix)) indexKeys.push(entry.key);
  const condemned = opts.condemned ?? await condemnedPacks(storage);
  // A blob in a condemned pack is recorded after every other location of it (or, for a writer, not at all):
  // readers keep working from a condemned pack until it is swept, but prefer the copy that will stay.
  const deferred: IndexEntry[] = [];
  const load = async (key: string) => {
    const entries = await readIndexObject(storage, key);
    if (!Array.isArray(entries)) {
      if (!opts.tolerateDamage) throw damagedIndexError(entries);
      index.damaged.push(entries);
      return;
    }
    index.objectKeys.push(key);
    for (const e of entries) {
      if (!condemned.has(e.pack)) index.set(e.blob, e);
      else if (!opts.forWriter) deferred.push(e);
    }
  };
  for (let i = 0; i < indexKeys.length; i += INDEX_READS_AT_ONCE) await Promise.all(indexKeys.slice(i, i + INDEX_READS_AT_ONCE).map(load));
  for (const e of deferred) index.set(e.blob, e);
  index.damaged.sort((a, b) => (a.key < b.key ? -1 : 1));
  return index;
}

/** Every pack of the store: pack id → size in bytes. */
export async function listPacks(storage: Storage): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const e of storage.list('blobs/packs/')) sizes.set(e.key.slice(e.key.lastIndexOf('/') + 1), e.size ?? 0);
  return sizes;
}

/** Index objects read at once by a load. */
export const INDEX_READS_AT_ONCE = 16;

/**
 * The validated entries of index object `key`, or what is wrong with it: damaged (not gzip, not NDJSON, an
 * entry that does not validate) or vanished since it was listed. Any other storage failure throws.
 */
export async function readIndexObject(storage: Storage, key: string): Promise<IndexEntry[] | DamagedIndex> {
  return decodeOrDamage(storage, key, (data) => gunzipLines(key, data, indexEntry));
}

/**
 * An index object's bytes as read, and whether a merged object may carry them as they are (sweep.ts,
 * `replaceIndex`): nothing follows their last gzip member, which would end a reader's inflation there and hide
 * whatever comes after, and their text is whole lines, so the next member starts a line of its own.
 */
export interface IndexObjectBytes { data: Buffer; mergeable: boolean }

/**
 * As `readIndexObject`, each entry passed to `sink` (index-lines.ts) instead of built as an object; returns
 * the object's bytes, or what is wrong with it. When it returns a DamagedIndex, `sink` may have seen some of the
 * object's entries: the caller drops them.
 */
export async function readIndexObjectInto(
  storage: Storage, key: string, size: number | undefined, sink: IndexEntrySink,
): Promise<IndexObjectBytes | DamagedIndex> {
  return decodeOrDamage(storage, key, async (data) => {
    const { text, trailing } = await gunzippedMembers(key, data);
    decodeIndexText(key, text, sink);
    return { data, mergeable: trailing === 0 && (text.length === 0 || text[text.length - 1] === NL) };
  }, size);
}

const NL = 0x0a;

/** `decode` of object `key`'s bytes (`size`: as listed, see readSized), or what is wrong with it. */
async function decodeOrDamage<T>(storage: Storage, key: string, decode: (data: Buffer) => T | Promise<T>, size?: number): Promise<T | DamagedIndex> {
  try {
    return await decode(await readSized(storage, key, size));
  } catch (err) {
    if (!isDatamoverError(err, 'INTEGRITY') && !isStorageError(err, 'notFound')) throw err;
    return { key, problem: isStorageError(err, 'notFound') ? `${key}: vanished while the index was read` : (err as Error).message };
  }
}

/** The INTEGRITY error of a strict load that met `damaged`. */
export function damagedIndexError(damaged: DamagedIndex): Error {
  return integrityError(`index object ${damaged.problem}; run datamover fsck`);
}

/** Writes one index object for entries of durable packs. Returns its key. */
export async function writeBlobIndex(storage: Storage, entries: readonly IndexEntry[]): Promise<string> {
  const key = keys.index(newId());
  await storage.put(key, gzipLines(entries), { ifAbsent: true });
  return key;
}
