/**
 * Blob hash → location in typed arrays: an open-addressing table keyed by the 32 bytes of the SHA-256, with pack
 * names interned. About 65 bytes an entry at the highest load, against ~240 for a Map of hex strings to objects
 * (measured: 200,000 entries 47 MiB of heap as a Map), so the index of a 200,000-chunk store fits the memory
 * budget. SHA-256 is uniform, so its first word is the probe start and no rehashing is needed.
 */
import type { BlobLocation } from '../vocab.js';

/** Blob encodings by number (0: raw); a location carries its codec only when it has one. */
const CODECS = [undefined, 'zstd'] as const;
const codecNumber = (codec: BlobLocation['codec']): number => (codec === undefined ? 0 : CODECS.indexOf(codec));

const KEY_WORDS = 8;
const MAX_LOAD = 0.75;

export class CompactBlobIndex {
  private slots: number;
  private keys: Uint32Array;
  /** 1 + pack number; 0 is an empty slot. */
  private packOf: Uint32Array;
  private offsets: Float64Array;
  private lengths: Uint32Array;
  private codecs: Uint8Array;
  private readonly packNames: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  private count = 0;
  /** Scratch for the key being looked up: no allocation per lookup. */
  private readonly probe = Buffer.alloc(KEY_WORDS * 4);
  private readonly probeWords = new Uint32Array(this.probe.buffer, this.probe.byteOffset, KEY_WORDS);

  constructor(expected = 1024) {
    this.slots = 1 << Math.ceil(Math.log2(Math.max(16, expected / MAX_LOAD)));
    this.keys = new Uint32Array(this.slots * KEY_WORDS);
    this.packOf = new Uint32Array(this.slots);
    this.offsets = new Float64Array(this.slots);
    this.lengths = new Uint32Array(this.slots);
    this.codecs = new Uint8Array(this.slots);
  }

  get size(): number { return this.count; }

  has(hash: string): boolean {
    return this.find(hash) >= 0;
  }

  /** Whether any entry lies in pack `pack`. */
  hasPack(pack: string): boolean {
    return this.packNumbers.has(pack);
  }

  /** The location of `hash` (a fresh object), or undefined. */
  get(hash: string): BlobLocation | undefined {
    const slot = this.find(hash);
    if (slot < 0) return undefined;
    return this.locationAt(slot);
  }

  /**
   * Records `hash` at `location`; an entry already there is kept (the first location read wins). A malformed
   * hash (not 64 hex digits) is not recorded: no chunk can refer to it.
   */
  set(hash: string, location: BlobLocation): this {
    if (this.load(hash)) this.insert(location.pack, location.offset, location.length, codecNumber(location.codec));
    return this;
  }

  /**
   * `set` for a hash given as the 8 words at `words[start]` (its 32 bytes as this table holds them, in the
   * machine's byte order): a caller that keeps hashes in the same form skips the hex round trip.
   */
  setWords(words: Uint32Array, start: number, location: BlobLocation): this {
    for (let w = 0; w < KEY_WORDS; w++) this.probeWords[w] = words[start + w]!;
    this.insert(location.pack, location.offset, location.length, codecNumber(location.codec));
    return this;
  }

  /** Calls `fn` with every entry's location, in no particular order (no hash is rendered). */
  forEachLocation(fn: (pack: string, offset: number, length: number) => void): void {
    for (let s = 0; s < this.slots; s++) {
      if (this.packOf[s]) fn(this.packNames[this.packOf[s]! - 1]!, this.offsets[s]!, this.lengths[s]!);
    }
  }

  /** Every entry as [hex hash, location], in no particular order. */
  *[Symbol.iterator](): IterableIterator<[string, BlobLocation]> {
    const hex = Buffer.alloc(KEY_WORDS * 4);
    const words = new Uint32Array(hex.buffer, hex.byteOffset, KEY_WORDS);
    for (let s = 0; s < this.slots; s++) {
      if (!this.packOf[s]) continue;
      words.set(this.keys.subarray(s * KEY_WORDS, (s + 1) * KEY_WORDS));
      yield [hex.toString('hex'), this.locationAt(s)];
    }
  }

  /** Records the key in `probe` at the location given, unless it is there already. */
  private insert(pack: string, offset: number, length: number, codec: number): void {
    if (this.lookup() >= 0) return;
    if ((this.count + 1) / this.slots > MAX_LOAD) {
      const key = Uint32Array.from(this.probeWords);
      this.grow();
      this.probeWords.set(key); // grow used the probe as scratch
    }
    this.place(this.freeSlotFor(), this.packNumber(pack), offset, length, codec);
    this.count++;
  }

  private locationAt(slot: number): BlobLocation {
    const at: BlobLocation = { pack: this.packNames[this.packOf[slot]! - 1]!, offset: this.offsets[slot]!, length: this.lengths[slot]! };
    const codec = CODECS[this.codecs[slot]!];
    if (codec !== undefined) at.codec = codec;
    return at;
  }

  /** Slot of the key in `probe` after `find` missed: the first empty slot on its probe path. */
  private freeSlotFor(): number {
    let slot = this.probeWords[0]! & (this.slots - 1);
    while (this.packOf[slot]) slot = (slot + 1) & (this.slots - 1);
    return slot;
  }

  private place(slot: number, pack: number, offset: number, length: number, codec: number): void {
    this.keys.set(this.probeWords, slot * KEY_WORDS);
    this.packOf[slot] = pack;
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    this.codecs[slot] = codec;
  }

  /** Loads `hash` into `probe`; false if it is not 64 hex digits. */
  private load(hash: string): boolean {
    return hash.length === KEY_WORDS * 8 && this.probe.write(hash, 'hex') === KEY_WORDS * 4;
  }

  /** Loads `hash` into `probe` and returns its slot, or -1 (also for a malformed hash). */
  private find(hash: string): number {
    return this.load(hash) ? this.lookup() : -1;
  }

  /** The slot of the key in `probe`, or -1. */
  private lookup(): number {
    const mask = this.slots - 1;
    const w = this.probeWords;
    for (let slot = w[0]! & mask; this.packOf[slot]; slot = (slot + 1) & mask) {
      const k = slot * KEY_WORDS;
      const keys = this.keys;
      if (keys[k] === w[0] && keys[k + 1] === w[1] && keys[k + 2] === w[2] && keys[k + 3] === w[3]
        && keys[k + 4] === w[4] && keys[k + 5] === w[5] && keys[k + 6] === w[6] && keys[k + 7] === w[7]) return slot;
    }
    return -1;
  }

  private packNumber(pack: string): number {
    let n = this.packNumbers.get(pack);
    if (n === undefined) {
      this.packNames.push(pack);
      n = this.packNames.length;
      this.packNumbers.set(pack, n);
    }
    return n;
  }

  private grow(): void {
    const old = { slots: this.slots, keys: this.keys, packOf: this.packOf, offsets: this.offsets, lengths: this.lengths, codecs: this.codecs };
    this.slots *= 2;
    this.keys = new Uint32Array(this.slots * KEY_WORDS);
    this.packOf = new Uint32Array(this.slots);
    this.offsets = new Float64Array(this.slots);
    this.lengths = new Uint32Array(this.slots);
    this.codecs = new Uint8Array(this.slots);
    const w = this.probeWords;
    for (let s = 0; s < old.slots; s++) {
      if (!old.packOf[s]) continue;
      w.set(old.keys.subarray(s * KEY_WORDS, (s + 1) * KEY_WORDS));
      this.place(this.freeSlotFor(), old.packOf[s]!, old.offsets[s]!, old.lengths[s]!, old.codecs[s]!);
    }
  }
}
