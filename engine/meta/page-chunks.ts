/**
 * The chunk hashes of a gzipped manifest page, read without an object per entry: a collector's mark reads
 * every page of the store and needs nothing else (JSON.parse of 100,000 entries cost 0.6 s, most of it
 * allocation and collection). A line in the writers' form is scanned byte by byte:
 *
 *   `{"path":"<JSON string>"` then, with no backslash in the rest of the line, `"chunks"` at most once,
 *   followed at once by `:` and `[]` or `[["<64 hex>",<digits>],...]`.
 *
 * Without a backslash no string holds a quote, so the key `chunks` can only be written `"chunks"`: a line
 * without those bytes has no chunks, and a line with them once, a colon right after, has exactly the chunks
 * JSON.parse would give it (a string value is never followed by a colon). Any other
 * line goes through JSON.parse and `manifestEntry` as `gunzipLines` does, with its errors. The scan may
 * accept a line a reader would refuse (it does not check the other fields); the chunks it marks then are
 * only kept longer, never lost.
 */
import { bytesAt, forEachLine, parsedLine, readHexHash, scratchHash } from './line-scan.js';
import { gunzipped } from './objects.js';
import { manifestEntry } from './validate.js';

/** Receives one chunk's hash as 8 words in the machine's byte order (a scratch view, valid during the call). */
export type ChunkHashSink = (hash: Uint32Array) => void;

const ascii = (s: string) => Buffer.from(s, 'latin1');
const PATH_OPEN = ascii('{"path":"');
const CHUNKS_NAME = ascii('"chunks"');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH_BYTES = Buffer.from([BACKSLASH]);
const BACKSLASH_AT = 0;
const NAME_AT = 1;
const OPEN = 0x5b;
const CLOSE = 0x5d;

/**
 * Calls `sink` for every chunk of every entry of page `key` (`data`: its gzipped bytes, inflated on the thread
 * pool), repeats included. INTEGRITY naming `key` (and the line) when it is not gzip or a line is refused as
 * `gunzipLines` refuses it.
 */
export async function forEachPageChunk(key: string, data: Buffer, sink: ChunkHashSink): Promise<void> {
  new PageScanner(await gunzipped(key, data), sink).run(key);
}

class PageScanner {
  private readonly scratch = scratchHash();
  private readonly hash = this.scratch.bytes;
  private readonly words = this.scratch.words;
  /**
   * Where the next backslash and the next `"chunks"` are, from the last search on: lines are read in order, so
   * one search serves every line up to the match (indexOf cannot stop at a line's end; searching each line
   * from its start to the page's end would read the page once a line).
   */
  private readonly found = [-1, -1];
  private readonly from = [-1, -1];

  constructor(private readonly text: Buffer, private readonly sink: ChunkHashSink) {}

  /** The first `bytes` at or after `p` (text.length when none), searched again only when `p` passed the last match. */
  private next(which: number, bytes: Buffer, p: number): number {
    if (this.from[which]! > p || this.found[which]! < p) {
      const at = this.text.indexOf(bytes, p);
      this.found[which] = at < 0 ? this.text.length : at;
      this.from[which] = p;
    }
    return this.found[which]!;
  }

  run(key: string): void {
    forEachLine(this.text, (start, end, line) => { if (!this.fast(start, end)) this.slow(key, line, start, end); });
  }

  /** Passes on the chunks of a line in the writers' form; false, having passed on nothing, for any other. */
  private fast(start: number, end: number): boolean {
    const { text } = this;
    if (!bytesAt(text, start, end, PATH_OPEN)) return false;
    const rest = this.afterString(start + PATH_OPEN.length, end);
    if (rest < 0) return false;
    if (this.next(BACKSLASH_AT, BACKSLASH_BYTES, rest) < end) return false;
    const at = this.next(NAME_AT, CHUNKS_NAME, rest);
    if (at >= end) return true;
    // JSON allows blanks before the colon: a name not followed by one at once could still be the key.
    if (text[at + CHUNKS_NAME.length] !== COLON || this.next(NAME_AT, CHUNKS_NAME, at + 1) < end) return false;
    return this.chunkList(at + CHUNKS_NAME.length + 1, end);
  }

  /** Where the JSON string whose contents start at `p` ends (after its closing quote), or -1. */
  private afterString(p: number, end: number): number {
    const { text } = this;
    for (; p < end; p++) {
      if (text[p] === BACKSLASH) p++;
      else if (text[p] === QUOTE) return p + 1;
    }
    return -1;
  }

  /**
   * Reads `[["<hash>",N],...]` at `p`: all of it or nothing. Checks the form first, then passes the hashes on,
   * so a list that turns out malformed half-way has passed on nothing.
   */
  private chunkList(p: number, end: number): boolean {
    const { text } = this;
    if (text[p] !== OPEN) return false;
    const first = p + 1;
    let count = 0;
    let q = first;
    if (text[q] === CLOSE) return true;
    for (;;) {
      if (text[q] !== OPEN || text[q + 1] !== QUOTE || q + 68 > end || text[q + 66] !== QUOTE || text[q + 67] !== COMMA) return false;
      if (!readHexHash(text, q + 2, this.hash)) return false;
      q += 68;
      const digits = q;
      while (q < end && text[q]! >= 0x30 && text[q]! <= 0x39) q++;
      if (q === digits || text[q] !== CLOSE) return false;
      count++;
      q++;
      if (text[q] === CLOSE) break;
      if (text[q] !== COMMA) return false;
      q++;
    }
    for (let i = 0, at = first; i < count; i++) {
      readHexHash(text, at + 2, this.hash);
      this.sink(this.words);
      at = text.indexOf(CLOSE, at + 68) + 2;
    }
    return true;
  }

  /** Any other line: parsed and validated as `gunzipLines` does, with its errors. */
  private slow(key: string, line: number, start: number, end: number): void {
    for (const [hash] of parsedLine(key, this.text, start, end, line, manifestEntry).chunks ?? []) {
      this.hash.write(hash, 'hex');
      this.sink(this.words);
    }
  }
}
