/**
 * The index objects a collector has read, every entry kept (not only the location a loaded index chooses) in
 * typed arrays, about 49 bytes an entry. One gc run reads each index object once: the mark's locations, the
 * sweep's (other packs deferred, plus the objects written meanwhile) and the merged index the sweep writes
 * all come from here. Index objects are written once under fresh names and never change, so an entry
 * read earlier in the run is what a second read would return. The gzipped bytes of objects are kept too, up to
 * KEPT_GZIP_BYTES in all: the merged index carries an object with nothing to drop as it is, neither decoded
 * nor compressed again.
 */
import { damagedIndexError, INDEX_READS_AT_ONCE, readIndexObjectInto } from '../meta/blob-index.js';
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { IndexLineEncoder, LINES_PER_CHUNK, type LineChunk } from '../meta/index-writer.js';
import { forEachLimited } from '../runtime/concurrency.js';
import type { Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';

const KEY_WORDS = 8;
/** Gzipped bytes of index objects held for the merge; an object beyond it is encoded anew (slower, same lines). */
const KEPT_GZIP_BYTES = 64 * 2 ** 20;

interface HeldObject {
  /** The range of its entries. */
  start: number;
  end: number;
  /** Its bytes, when a merged object may carry them as they are (IndexObjectBytes) and they fit the budget. */
  gzip?: Buffer;
}

export class IndexSnapshot {
  private capacity = 0;
  private count = 0;
  private words = new Uint32Array(0);
  private packOf = new Uint32Array(0);
  private offsets = new Float64Array(0);
  private lengths = new Uint32Array(0);
  /** 1: zstd, 0: raw. A repack copies compressed bytes as they are, so the merged index must keep the codec. */
  private codecs = new Uint8Array(0);
  private readonly packNames: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  private lastPack = '';
  private lastPackNumber = 0;
  /** The objects held. */
  private readonly objects = new Map<string, HeldObject>();
  private keptGzipBytes = 0;

  /** The index objects held, as the store listed them at the last `refresh`. */
  get objectKeys(): string[] { return [...this.objects.keys()]; }

  /**
   * Lists the index objects: one no longer listed is dropped (deleted since: its entries stop counting, as
   * they would for a fresh load), one not held yet is read. Strict like a collector's load: a damaged object,
   * or one that vanishes between the listing and its read, fails with INTEGRITY naming it. Returns how many
   * objects it dropped.
   */
  async refresh(storage: Storage, signal?: AbortSignal): Promise<number> {
    const listed = new Map<string, number | undefined>();
    for await (const e of storage.list(keys.indexPrefix)) listed.set(e.key, e.size);
    const gone = [...this.objects.keys()].filter((key) => !listed.has(key));
    for (const key of gone) {
      this.keptGzipBytes -= this.objects.get(key)!.gzip?.length ?? 0;
      this.objects.delete(key);
    }
    const unread = [...listed.keys()].filter((key) => !this.objects.has(key));
    // About 43 gzipped bytes an entry: the columns are sized once, not doubled on the way.
    this.reserve(this.count + Math.ceil(unread.reduce((sum, key) => sum + (listed.get(key) ?? 0), 0) / 40));
    await forEachLimited(unread, INDEX_READS_AT_ONCE, async (key) => {
      signal?.throwIfAborted();
      // Decoding is synchronous once the bytes are in, so an object's entries are contiguous. Those of a
      // damaged object lie in no object's range, so nothing reads them (and the refresh fails).
      const range = { start: -1, end: 0 };
      const read = await readIndexObjectInto(storage, key, listed.get(key), (hash, pack, offset, length, zstd) => {
        if (range.start < 0) range.start = this.count;
        this.push(hash, pack, offset, length, zstd);
        range.end = this.count;
      });
      if ('problem' in read) throw damagedIndexError(read);
      const keep = read.mergeable && this.keptGzipBytes + read.data.length <= KEPT_GZIP_BYTES;
      if (keep) this.keptGzipBytes += read.data.length;
      this.objects.set(key, { ...(range.start < 0 ? { start: 0, end: 0 } : range), ...(keep ? { gzip: read.data } : {}) });
    });
    return gone.length;
  }

  /**
   * Places every unplaced hash claimed in `live` at its location in the objects held, as `loadBlobIndex` would
   * choose it: the first entry read, an entry in a `deferred` pack only when the blob has no other. A claim
   * that no entry names stays unplaced. One pass over the entries; no index of them is built.
   */
  place(live: CompactBlobIndex, deferred: ReadonlySet<string>): void {
    const defer = this.packNames.map((pack) => deferred.has(pack));
    const later: number[] = [];
    for (const { start, end } of this.objects.values()) {
      for (let i = start; i < end && live.unplaced; i++) {
        if (defer[this.packOf[i]!]) later.push(i);
        else this.placeEntry(live, i);
      }
    }
    for (const i of later) if (live.unplaced) this.placeEntry(live, i);
  }

  private placeEntry(live: CompactBlobIndex, i: number): void {
    live.placeWords(this.words, i * KEY_WORDS, this.packNames[this.packOf[i]!]!, this.offsets[i]!, this.lengths[i]!, this.codecs[i] ? 'zstd' : undefined);
  }

  /**
   * Each pack some held entry names, with where its blobs end (the rest of the object is its trailer): a pack
   * is judged by the share of its blob bytes no live chunk needs, so a small pack whose trailer is most of its
   * size is not repacked again and again.
   */
  packExtents(): Map<string, number> {
    const end = new Float64Array(this.packNames.length).fill(-1);
    for (const { start, end: stop } of this.objects.values()) {
      for (let i = start; i < stop; i++) end[this.packOf[i]!] = Math.max(end[this.packOf[i]!]!, this.offsets[i]! + this.lengths[i]!);
    }
    const extents = new Map<string, number>();
    this.packNames.forEach((pack, n) => { if (end[n]! >= 0) extents.set(pack, end[n]!); });
    return extents;
  }

  /** The objects held that have an entry in a pack of `packs`. */
  objectsNaming(packs: ReadonlySet<string>): string[] {
    const named = this.packNames.map((pack) => packs.has(pack));
    const keys: string[] = [];
    for (const [key, { start, end }] of this.objects) {
      for (let i = start; i < end; i++) if (named[this.packOf[i]!]) { keys.push(key); break; }
    }
    return keys;
  }

  /**
   * Every entry of the objects held outside the packs `gone`, each distinct (blob, pack, offset) once, as the
   * lines of an index object, LINES_PER_CHUNK entries a chunk — except an object whose bytes are kept and
   * whose every entry stays and is the first of its kind: its bytes are handed on as they are, one chunk.
   */
  *lineChunks(gone: ReadonlySet<string>): Generator<LineChunk> {
    const seen = new Int32Array(2 ** Math.ceil(Math.log2(Math.max(16, this.count * 2))));
    const skip = this.packNames.map((pack) => gone.has(pack));
    const packBytes = this.packNames.map((pack) => Buffer.from(pack, 'latin1'));
    const hashes = new Uint8Array(this.words.buffer, this.words.byteOffset, this.words.byteLength);
    const encoder = new IndexLineEncoder();
    const kept: number[] = [];
    for (const { start, end, gzip } of this.objects.values()) {
      kept.length = 0;
      for (let i = start; i < end; i++) if (!skip[this.packOf[i]!] && this.firstOf(seen, i)) kept.push(i);
      if (gzip && kept.length === end - start) {
        if (encoder.entries) yield encoder.take();
        if (kept.length) yield { bytes: gzip, entries: kept.length, gzipped: true };
        continue;
      }
      for (const i of kept) {
        encoder.add(hashes, i * KEY_WORDS * 4, packBytes[this.packOf[i]!]!, this.offsets[i]!, this.lengths[i]!, this.codecs[i] === 1);
        if (encoder.entries === LINES_PER_CHUNK) yield encoder.take();
      }
    }
    yield encoder.take();
  }

  private push(hash: Uint32Array, pack: string, offset: number, length: number, zstd: boolean): void {
    if (this.count === this.capacity) this.reserve(this.count + 1);
    const { words } = this;
    const w = this.count * KEY_WORDS;
    for (let i = 0; i < KEY_WORDS; i++) words[w + i] = hash[i]!;
    // Consecutive entries mostly share their pack (the decoder hands on the same string): no map lookup then.
    if (pack !== this.lastPack) [this.lastPack, this.lastPackNumber] = [pack, this.packNumber(pack)];
    this.packOf[this.count] = this.lastPackNumber;
    this.offsets[this.count] = offset;
    this.lengths[this.count] = length;
    this.codecs[this.count] = zstd ? 1 : 0;
    this.count++;
  }

  /** Whether entry `i` is the first of its (blob, pack, offset) marked in `seen` (open addressing, 1 + entry). */
  private firstOf(seen: Int32Array, i: number): boolean {
    const mask = seen.length - 1;
    let slot = (this.words[i * KEY_WORDS]! ^ Math.imul(this.packOf[i]!, 0x9e3779b1) ^ this.offsets[i]!) & mask;
    for (; seen[slot]; slot = (slot + 1) & mask) if (this.same(seen[slot]! - 1, i)) return false;
    seen[slot] = i + 1;
    return true;
  }

  private same(a: number, b: number): boolean {
    if (this.packOf[a] !== this.packOf[b] || this.offsets[a] !== this.offsets[b]) return false;
    for (let w = 0; w < KEY_WORDS; w++) if (this.words[a * KEY_WORDS + w] !== this.words[b * KEY_WORDS + w]) return false;
    return true;
  }

  private packNumber(pack: string): number {
    let n = this.packNumbers.get(pack);
    if (n === undefined) {
      n = this.packNames.push(pack) - 1;
      this.packNumbers.set(pack, n);
    }
    return n;
  }

  private reserve(needed: number): void {
    if (needed <= this.capacity) return;
    this.capacity = Math.max(needed, this.capacity * 2, 1024);
    const grown = <T extends Uint8Array | Uint32Array | Float64Array>(old: T, make: (n: number) => T, per = 1): T => {
      const next = make(this.capacity * per);
      next.set(old);
      return next;
    };
    this.words = grown(this.words, (n) => new Uint32Array(n), KEY_WORDS);
    this.packOf = grown(this.packOf, (n) => new Uint32Array(n));
    this.offsets = grown(this.offsets, (n) => new Float64Array(n));
    this.lengths = grown(this.lengths, (n) => new Uint32Array(n));
    this.codecs = grown(this.codecs, (n) => new Uint8Array(n));
  }
}
