/**
 * Index objects decoded without an object per entry. A collector reads every entry of the store (200,000
 * entries took over a second as JSON.parse plus validation, most of it allocation): here a line in the exact
 * form the writers produce — `{"blob":"<64 hex>","pack":"<name>","offset":N,"length":N}`, optionally with
 * `,"codec":"zstd"` — is read byte by byte straight into the hash's words. Any other line (another key order,
 * spaces, an extra field, anything malformed) goes through JSON.parse and `indexEntry` as `gunzipLines` does, so
 * the lines accepted, the values and the error for a damaged object are exactly `gunzipLines(key, data, indexEntry)`'s.
 */
import { bytesAt, forEachLine, parsedLine, readHexHash, scratchHash } from './line-scan.js';
import { gunzippedSync } from './objects.js';
import { MAX_CHUNK, indexEntry } from './validate.js';

/**
 * Receives one entry. `hash` is a scratch view of the hash's 32 bytes as 8 words in the machine's byte order
 * (as `Buffer.write(hex, 'hex')` lays them out), valid only during the call.
 */
export type IndexEntrySink = (hash: Uint32Array, pack: string, offset: number, length: number, zstd: boolean) => void;

const ascii = (s: string) => Buffer.from(s, 'latin1');
/**
 * The writers' exact line form, piece by piece: `blob` + 64 hex + `pack` + name + `offset` + N + `length` + N,
 * then `zstd` when compressed, then `}`. Read here, written by index-writer.ts.
 */
export const LINE = {
  blob: ascii('{"blob":"'), pack: ascii('","pack":"'), offset: ascii('","offset":'), length: ascii(',"length":'),
  zstd: ascii(',"codec":"zstd"'),
} as const;
const BRACE = 0x7d;
/** Digits beyond which a number leaves the fast path (15 digits stay below 2^53). */
const MAX_DIGITS = 15;

/** Bytes a pack name may hold: [0-9A-Za-z_-]. */
const PACK_CHAR = new Uint8Array(256);
for (const c of '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-') PACK_CHAR[c.charCodeAt(0)] = 1;

/**
 * Calls `sink` for every entry of gzipped index object `key` (`data`, its bytes), in order. INTEGRITY naming
 * `key` (and the line) when it is damaged — after `sink` has seen the entries before the damaged line, which
 * the caller must then drop.
 */
export function decodeIndexObject(key: string, data: Buffer, sink: IndexEntrySink): void {
  decodeIndexText(key, gunzippedSync(key, data), sink);
}

/** As decodeIndexObject, for the object's bytes already gunzipped (`text`). */
export function decodeIndexText(key: string, text: Buffer, sink: IndexEntrySink): void {
  new LineReader(text, sink).run(key);
}

class LineReader {
  private readonly scratch = scratchHash();
  private readonly hash = this.scratch.bytes;
  private readonly words = this.scratch.words;
  /** The last pack name and where its bytes were: consecutive entries mostly share their pack. */
  private pack = '';
  private packStart = 0;
  private packEnd = 0;
  /** Where the number just read ended. */
  private at = 0;

  constructor(private readonly text: Buffer, private readonly sink: IndexEntrySink) {}

  run(key: string): void {
    forEachLine(this.text, (start, end, line) => { if (!this.fast(start, end)) this.slow(key, line, start, end); });
  }

  /** Reads the line in the writers' exact form; false (nothing passed on) when it is in any other. */
  private fast(start: number, end: number): boolean {
    const { text } = this;
    let p = start;
    if (!this.literal(p, LINE.blob) || end - p < LINE.blob.length + 64) return false;
    p += LINE.blob.length;
    if (!readHexHash(text, p, this.hash)) return false;
    p += 64;
    if (!this.literal(p, LINE.pack)) return false;
    const packStart = p += LINE.pack.length;
    while (p < end && PACK_CHAR[text[p]!]) p++;
    const packEnd = p;
    if (packEnd - packStart < 2 || !this.literal(p, LINE.offset)) return false;
    const offset = this.number(p + LINE.offset.length, end);
    if (offset < 0 || !this.literal(this.at, LINE.length)) return false;
    const length = this.number(this.at + LINE.length.length, end);
    if (length < 1 || length > MAX_CHUNK) return false;
    p = this.at;
    if (text[end - 1] !== BRACE) return false;
    const zstd = p === end - 1 - LINE.zstd.length && this.literal(p, LINE.zstd);
    if (!zstd && p !== end - 1) return false;
    this.sink(this.words, this.packName(packStart, packEnd), offset, length, zstd);
    return true;
  }

  /** The JSON integer at `p` (no sign, no leading zero, at most MAX_DIGITS digits), its end in `at`; -1 otherwise. */
  private number(p: number, end: number): number {
    const { text } = this;
    let value = 0;
    const first = p;
    while (p < end && text[p]! >= 0x30 && text[p]! <= 0x39) value = value * 10 + (text[p++]! - 0x30);
    const digits = p - first;
    if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && text[first] === 0x30)) return -1;
    this.at = p;
    return value;
  }

  private literal(p: number, bytes: Buffer): boolean {
    return bytesAt(this.text, p, this.text.length, bytes);
  }

  private packName(start: number, end: number): string {
    if (end - start !== this.packEnd - this.packStart || this.text.compare(this.text, this.packStart, this.packEnd, start, end) !== 0) {
      this.pack = this.text.toString('latin1', start, end);
    }
    this.packStart = start;
    this.packEnd = end;
    return this.pack;
  }

  /** Any other line: parsed and validated as `gunzipLines` does, with its errors. */
  private slow(key: string, line: number, start: number, end: number): void {
    const e = parsedLine(key, this.text, start, end, line, indexEntry);
    this.hash.write(e.blob, 'hex');
    this.sink(this.words, e.pack, e.offset, e.length, e.codec === 'zstd');
  }
}
