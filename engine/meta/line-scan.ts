/**
 * What the byte scanners of gzipped NDJSON objects share (index-lines.ts for index objects, page-chunks.ts for
 * manifest pages): the lines of the inflated text, literal pieces, hex hashes, and the general path a line
 * outside the writers' form takes — JSON.parse and the validator, with `gunzipLines`'s errors.
 */
import { parseLine, type Validator } from './objects.js';

const NL = 0x0a;

/** Calls `fn` with the bounds of every non-empty line of `text` and its number (1-based, blank lines counted). */
export function forEachLine(text: Buffer, fn: (start: number, end: number, line: number) => void): void {
  for (let start = 0, line = 1; start < text.length; line++) {
    let end = text.indexOf(NL, start);
    if (end < 0) end = text.length;
    if (end > start) fn(start, end, line);
    start = end + 1;
  }
}

/** Whether `bytes` are at `text[p]`, ending by `end`. */
export function bytesAt(text: Uint8Array, p: number, end: number, bytes: Uint8Array): boolean {
  if (p + bytes.length > end) return false;
  for (let i = 0; i < bytes.length; i++) if (text[p + i] !== bytes[i]) return false;
  return true;
}

/** Lowercase hex digit → value, -1 otherwise (the hash pattern of the index and the manifests is lowercase only). */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

/** Reads the 64 lowercase hex digits at `text[p]` into the 32 bytes of `hash`; false if any is not one. */
export function readHexHash(text: Uint8Array, p: number, hash: Uint8Array): boolean {
  if (p + 64 > text.length) return false;
  for (let i = 0; i < 32; i++, p += 2) {
    const hi = HEX[text[p]!]!;
    const lo = HEX[text[p + 1]!]!;
    if (hi < 0 || lo < 0) return false;
    hash[i] = (hi << 4) | lo;
  }
  return true;
}

/** Line `line` of object `key` (`text[start, end)`), parsed and validated as `gunzipLines` does, with its errors. */
export function parsedLine<T>(key: string, text: Buffer, start: number, end: number, line: number, validate: Validator<T>): T {
  return parseLine(key, text.toString('utf8', start, end), line, validate);
}

/** A scratch hash: its 32 bytes and the same memory as 8 words, the form the sinks hand on. */
export function scratchHash(): { bytes: Buffer; words: Uint32Array } {
  const bytes = Buffer.alloc(32);
  return { bytes, words: new Uint32Array(bytes.buffer, bytes.byteOffset, 8) };
}
