/**
 * Blob hash → location in typed arrays: entries stored densely in fixed-size blocks (the 32 bytes of the
 * SHA-256, pack number, offset, length, codec: 49 bytes an entry), found through an open-addressing table of entry
 * numbers (4 bytes a slot, at most 75% full), with pack names interned. About 56 bytes an entry, against ~240 for
 * a Map of hex strings to objects (measured: 200,000 entries 47 MiB of heap as a Map) and ~100 for a table of
 * whole entries, which must keep a quarter of its slots empty and doubles at once: 1,000,000 chunks take about
 * 56 MiB, not 100. Blocks are added as entries come, never copied; only the 4-byte table is rebuilt when it
 * grows. SHA-256 is uniform, so its first word is the probe start and no rehashing is needed.
 *
 * A hash may also be claimed without a location (`claimWords`: a collector's live set, filled from manifest
 * pages before the index is read) and placed later (`placeWords`). A claimed hash has no location: `has`,
 * `get`, iteration and `forEachLocation` pass it by until it is placed.
 */
import type { BlobLocation } from '../vocab.js';

/** Blob encodings by number (0: raw); a location carries its codec only when it has one. */
const CODECS = [undefined, 'zstd'] as const;
const codecNumber = (codec: BlobLocation['codec']): number => (codec === undefined ? 0 : CODECS.indexOf(codec));

const KEY_WORDS = 8;
const MAX_LOAD = 0.75;
/** Entries a block holds (a power of two): 768 KiB a block, so a small store stays small. */
const BLOCK_BITS = 14;
const BLOCK = 1 << BLOCK_BITS;

/** One block of entries. */
interface Block { keys: Uint32Array; packOf: Uint32Array; offsets: Float64Array; lengths: Uint32Array; codecs: Uint8Array }

export class CompactBlobIndex {
  private slots: number;
  /** 1 + entry number; 0 is an empty slot. */
  private table: Uint32Array;
  private readonly blocks: Block[] = [];
  private readonly packNames: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  private count = 0;
  private claimed = 0;
  /** Scratch for the key being looked up: no allocation per lookup. */
  private readonly probe = Buffer.alloc(KEY_WORDS * 4);
  private readonly probeWords = new Uint32Array(this.probe.buffer, this.probe.byteOffset, KEY_WORDS);

  constructor(expected = 1024) {
    this.slots = 1 << Math.ceil(Math.log2(Math.max(16, expected / MAX_LOAD)));
    this.table = new Uint32Array(this.slots);
  }

  /** Makes room for `entries` in all without growing the table again on the way (an estimate is fine). */
  reserve(entries: number): void {
    while (entries / this.slots > MAX_LOAD) this.grow();
  }

  /** Entries, claimed ones included. */
  get size(): number { return this.count; }

  /** Entries claimed and not placed yet. */
  get unplaced(): number { return this.claimed; }

  /** Bytes its typed arrays take (pack names not counted). */
  get byteSize(): number {
    return this.table.byteLength + this.blocks.length * BLOCK * (KEY_WORDS * 4 + 4 + 8 + 4);
  }

  has(hash: string): boolean {
    const entry = this.find(hash);
    return entry >= 0 && this.isPlaced(entry);
  }

  /** Whether any entry lies in pack `pack`. */
  hasPack(pack: string): boolean {
    return this.packNumbers.has(pack);
  }

  /** The location of `hash` (a fresh object), or undefined. */
  get(hash: string): BlobLocation | undefined {
    const entry = this.find(hash);
    return entry < 0 || !this.isPlaced(entry) ? undefined : this.locationOf(entry);
  }

  /**
   * Records `hash` at `location`; a location already there is kept (the first location read wins). A malformed
   * hash (not 64 hex digits) is not recorded: no chunk can refer to it.
   */
  set(hash: string, location: BlobLocation): this {
    if (this.load(hash)) this.insert(location);
    return this;
  }

  /**
   * `set` for a hash given as the 8 words at `words[start]` (its 32 bytes as this table holds them, in the
   * machine's byte order): a caller that keeps hashes in the same form skips the hex round trip.
   */
  setWords(words: Uint32Array, start: number, location: BlobLocation): this {
    this.loadWords(words, start);
    this.insert(location);
    return this;
  }

  /**
   * Claims the hash at `words[start]` (as `setWords` takes it) without a location, unless it is there already.
   * Returns whether it was added.
   */
  claimWords(words: Uint32Array, start: number): boolean {
    this.loadWords(words, start);
    if (this.lookup() >= 0) return false;
    this.append();
    this.claimed++;
    return true;
  }

  /**
   * Gives the claimed hash at `words[start]` this location, if it is claimed and not placed yet. Returns
   * whether it did: a hash not claimed, or placed already, is left as it is.
   */
  placeWords(words: Uint32Array, start: number, pack: string, offset: number, length: number, codec: BlobLocation['codec']): boolean {
    this.loadWords(words, start);
    const entry = this.lookup();
    if (entry < 0 || this.isPlaced(entry)) return false;
    this.locate(entry, { pack, offset, length, codec });
    this.claimed--;
    return true;
  }

  /**
   * Calls `fn` with every placed entry's location, in the order they were set, and its hash as the 8 words at
   * `words[start]` (valid during the call only; no hash is rendered).
   */
  forEachLocation(fn: (pack: string, offset: number, length: number, words: Uint32Array, start: number) => void): void {
    for (let entry = 0; entry < this.count; entry++) {
      const block = this.blocks[entry >> BLOCK_BITS]!;
      const i = entry & (BLOCK - 1);
      if (block.packOf[i]) fn(this.packNames[block.packOf[i]! - 1]!, block.offsets[i]!, block.lengths[i]!, block.keys, i * KEY_WORDS);
    }
  }

  /** Calls `fn` with the hash of every claimed entry not placed yet, as forEachLocation passes it. */
  forEachUnplaced(fn: (words: Uint32Array, start: number) => void): void {
    for (let entry = 0; entry < this.count; entry++) {
      const block = this.blocks[entry >> BLOCK_BITS]!;
      const i = entry & (BLOCK - 1);
      if (!block.packOf[i]) fn(block.keys, i * KEY_WORDS);
    }
  }

  /** Records the key in `probe` at `location`, unless it has one already (a claimed key is placed). */
  private insert(location: BlobLocation): void {
    const found = this.lookup();
    if (found >= 0) {
      if (!this.isPlaced(found)) { this.locate(found, location); this.claimed--; }
      return;
    }
    this.locate(this.append(), location);
  }

  /** A new entry for the key in `probe`, without a location. */
  private append(): number {
    if ((this.count + 1) / this.slots > MAX_LOAD) this.grow();
    const entry = this.count++;
    if (entry >> BLOCK_BITS === this.blocks.length) this.blocks.push(newBlock());
    this.blocks[entry >> BLOCK_BITS]!.keys.set(this.probeWords, (entry & (BLOCK - 1)) * KEY_WORDS);
    this.table[this.freeSlotFor(this.probeWords[0]!)] = entry + 1;
    return entry;
  }

  private locate(entry: number, location: BlobLocation): void {
    const block = this.blocks[entry >> BLOCK_BITS]!;
    const i = entry & (BLOCK - 1);
    block.packOf[i] = this.packNumber(location.pack);
    block.offsets[i] = location.offset;
    block.lengths[i] = location.length;
    block.codecs[i] = codecNumber(location.codec);
  }

  /** Pack numbers start at 1: 0 marks a claimed entry without a location. */
  private isPlaced(entry: number): boolean {
    return this.blocks[entry >> BLOCK_BITS]!.packOf[entry & (BLOCK - 1)]! !== 0;
  }

  /** Every entry as [hex hash, location], in the order they were set. */
  *[Symbol.iterator](): IterableIterator<[string, BlobLocation]> {
    const hex = Buffer.alloc(KEY_WORDS * 4);
    const words = new Uint32Array(hex.buffer, hex.byteOffset, KEY_WORDS);
    for (let entry = 0; entry < this.count; entry++) {
      if (!this.isPlaced(entry)) continue;
      const i = entry & (BLOCK - 1);
      words.set(this.blocks[entry >> BLOCK_BITS]!.keys.subarray(i * KEY_WORDS, (i + 1) * KEY_WORDS));
      yield [hex.toString('hex'), this.locationOf(entry)];
    }
  }

  private locationOf(entry: number): BlobLocation {
    const block = this.blocks[entry >> BLOCK_BITS]!;
    const i = entry & (BLOCK - 1);
    const at: BlobLocation = { pack: this.packNames[block.packOf[i]! - 1]!, offset: block.offsets[i]!, length: block.lengths[i]! };
    const codec = CODECS[block.codecs[i]!];
    if (codec !== undefined) at.codec = codec;
    return at;
  }

  /** The first empty slot on the probe path that starts at `word`. */
  private freeSlotFor(word: number): number {
    let slot = word & (this.slots - 1);
    while (this.table[slot]) slot = (slot + 1) & (this.slots - 1);
    return slot;
  }

  /** Loads the hash at `words[start]` into `probe`. */
  private loadWords(words: Uint32Array, start: number): void {
    for (let w = 0; w < KEY_WORDS; w++) this.probeWords[w] = words[start + w]!;
  }

  /** Loads `hash` into `probe`; false if it is not 64 hex digits. */
  private load(hash: string): boolean {
    return hash.length === KEY_WORDS * 8 && this.probe.write(hash, 'hex') === KEY_WORDS * 4;
  }

  /** Loads `hash` into `probe` and returns its entry number, or -1 (also for a malformed hash). */
  private find(hash: string): number {
    return this.load(hash) ? this.lookup() : -1;
  }

  /** The entry number of the key in `probe`, or -1. */
  private lookup(): number {
    const mask = this.slots - 1;
    const w = this.probeWords;
    for (let slot = w[0]! & mask, e = this.table[slot]!; e; slot = (slot + 1) & mask, e = this.table[slot]!) {
      const keys = this.blocks[(e - 1) >> BLOCK_BITS]!.keys;
      const k = ((e - 1) & (BLOCK - 1)) * KEY_WORDS;
      if (keys[k] === w[0] && keys[k + 1] === w[1] && keys[k + 2] === w[2] && keys[k + 3] === w[3]
        && keys[k + 4] === w[4] && keys[k + 5] === w[5] && keys[k + 6] === w[6] && keys[k + 7] === w[7]) return e - 1;
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

  /** Doubles the table and places every entry again (the entries themselves stay where they are). */
  private grow(): void {
    this.slots *= 2;
    this.table = new Uint32Array(this.slots);
    for (let entry = 0; entry < this.count; entry++) {
      const firstWord = this.blocks[entry >> BLOCK_BITS]!.keys[(entry & (BLOCK - 1)) * KEY_WORDS]!;
      this.table[this.freeSlotFor(firstWord)] = entry + 1;
    }
  }
}

function newBlock(): Block {
  return { keys: new Uint32Array(BLOCK * KEY_WORDS), packOf: new Uint32Array(BLOCK), offsets: new Float64Array(BLOCK), lengths: new Uint32Array(BLOCK), codecs: new Uint8Array(BLOCK) };
}
