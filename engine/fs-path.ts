/**
 * Names as the file system has them: Linux names are bytes, not text. A manifest path is a JS string in which
 * every byte that is not part of valid UTF-8 stands as a lone surrogate U+DC00+byte (U+DC80..U+DCFF, Python's
 * "surrogateescape"). The mapping is lossless and one-to-one, sorts like any string, and survives JSON
 * (JSON.stringify escapes lone surrogates as `\udcXX`). Valid UTF-8 names, the common case, are plain strings.
 * Every fs call on a path derived from a manifest or scan path goes through `fsPath`.
 */
import { isUtf8 } from 'node:buffer';
import { DatamoverError } from './errors.js';

const ESCAPE_BASE = 0xdc00;

/** String.prototype.isWellFormed (Node 20; not in the ES2023 lib the project compiles against). */
const wellFormed = (s: string): boolean => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

/** The string form of a name (or path) read from the file system as bytes. */
export function nameFromBytes(bytes: Uint8Array): string {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const n = validSequenceLength(buf, i);
    if (n) {
      out += buf.toString('utf8', i, i + n);
      i += n;
    } else {
      out += String.fromCharCode(ESCAPE_BASE + buf[i]!);
      i++;
    }
  }
  return out;
}

/**
 * The bytes of a name's string form. Fails with UNSAFE_PATH on a lone surrogate that no escaped byte yields: only
 * a crafted manifest holds one (`checkManifestPath` refuses such paths first; a symlink target meets it here).
 */
export function bytesOf(s: string): Buffer {
  if (wellFormed(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let plain = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      plain += s[i]! + s[i + 1]!;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(plain, 'utf8'), Buffer.of(c - ESCAPE_BASE));
      plain = '';
    } else if (c >= 0xd800 && c <= 0xdfff) {
      throw new DatamoverError('UNSAFE_PATH', `name ${JSON.stringify(s)} holds a lone surrogate U+${c.toString(16).toUpperCase()} that stands for no byte`);
    } else {
      plain += s[i]!;
    }
  }
  parts.push(Buffer.from(plain, 'utf8'));
  return Buffer.concat(parts);
}

/** Whether `s` is the string form of some byte string (the only form a walk produces), i.e. it round-trips. */
export function isCanonicalName(s: string): boolean {
  if (wellFormed(s)) return true;
  try {
    return nameFromBytes(bytesOf(s)) === s;
  } catch {
    return false;
  }
}

/** What to hand to an fs call for path `s`: the string itself when it is valid Unicode, else its bytes. */
export function fsPath(s: string): string | Buffer {
  return wellFormed(s) ? s : bytesOf(s);
}

/** How many bytes of a name `s` holds. */
export function byteLength(s: string): number {
  return wellFormed(s) ? Buffer.byteLength(s, 'utf8') : bytesOf(s).length;
}

/**
 * The longest prefix of name `s` of at most `max` bytes that ends between two characters (an escaped byte
 * counts as one character), so a valid UTF-8 name stays valid when cut.
 */
export function cutToBytes(s: string, max: number): string {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i)!;
    const width = cp >= 0xdc80 && cp <= 0xdcff ? 1 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + width > max) break;
    bytes += width;
    i += cp > 0xffff ? 2 : 1;
  }
  return s.slice(0, i);
}

/** The byte a string unit stands for when it is an escaped byte (U+DC80–U+DCFF), else undefined. */
export function escapedByte(code: number): number | undefined {
  return code >= 0xdc80 && code <= 0xdcff ? code - ESCAPE_BASE : undefined;
}

/**
 * For messages: each escaped byte shown as `\xNN`, control characters as `\n`, `\t`, `\xNN` (a name never
 * breaks a message's one line); the rest as is. Display only: not reversible (`bundle files` quotes exactly).
 */
export function displayName(s: string): string {
  // eslint-disable-next-line no-control-regex
  if (wellFormed(s) && !/[\u0000-\u001f\u007f]/.test(s)) return s;
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\udc80-\udcff\u0000-\u001f\u007f]/gu, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    return `\\x${(escapedByte(code) ?? code).toString(16).toUpperCase().padStart(2, '0')}`;
  });
}

/** The length of the valid UTF-8 sequence starting at `i` (1-4), or 0 when the byte there starts none. */
function validSequenceLength(buf: Buffer, i: number): number {
  const b0 = buf[i]!;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < buf.length && buf[i + k]! >= lo && buf[i + k]! <= hi;
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    // No overlong forms (E0 80..9F) and no encoded surrogates (ED A0..BF): those bytes are escaped.
    const lo = b0 === 0xe0 ? 0xa0 : 0x80;
    const hi = b0 === 0xed ? 0x9f : 0xbf;
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80;
    const hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
