/**
 * Names in URLs. A bundle path travels as one percent-encoded URL segment per name, every byte that is not
 * unreserved encoded, so any name a manifest can hold (bytes that are not UTF-8 included, engine/fs-path.ts)
 * has one URL and back. Decoding refuses what no manifest name can be: an empty name, `.`, `..`, a `/` (an
 * encoded slash), NUL, a malformed escape, or a name or path too long. The server only ever looks names up in
 * a bundle's manifest, so a refused name simply names nothing (404).
 */
import { bytesOf, nameFromBytes } from '../fs-path.js';

/** Longest name (bytes) and path (bytes) a request may name: Linux's NAME_MAX and PATH_MAX. */
export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/** Percent-decodes one URL component to bytes; undefined when an escape is malformed or a character is not a byte. */
export function percentDecode(component: string): Buffer | undefined {
  const out = Buffer.alloc(component.length);
  let n = 0;
  for (let i = 0; i < component.length; i++) {
    const c = component.charCodeAt(i);
    if (c === 0x25) {
      const hex = component.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else if (c > 0xff) {
      return undefined;
    } else {
      out[n++] = c;
    }
  }
  return out.subarray(0, n);
}

/** One name from its bytes, or undefined when it cannot be a name in a manifest (see above). */
function nameOf(bytes: Buffer | undefined): string | undefined {
  if (!bytes || bytes.length === 0 || bytes.length > MAX_NAME_BYTES) return undefined;
  if (bytes.includes(0x2f) || bytes.includes(0)) return undefined;
  const name = nameFromBytes(bytes);
  return name === '.' || name === '..' ? undefined : name;
}

/** One name from a URL segment, or undefined when it cannot be a name in a manifest (see above). */
export const nameFromSegment = (segment: string): string | undefined => nameOf(percentDecode(segment));

/** Names joined as a bundle path, or undefined when one is refused or the path is too long. */
function joinNames(names: (string | undefined)[]): string | undefined {
  if (names.some((n) => n === undefined)) return undefined;
  const path = names.join('/');
  return bytesOf(path).length > MAX_PATH_BYTES ? undefined : path;
}

/**
 * A bundle path from URL segments ('' is the root), or undefined when a segment is refused or the path is too
 * long. One trailing empty segment (a URL ending in `/`) is allowed; any other empty segment (`a//b`) is not.
 */
export function pathFromSegments(segments: readonly string[]): string | undefined {
  const parts = segments.length && segments[segments.length - 1] === '' ? segments.slice(0, -1) : segments;
  return joinNames(parts.map(nameFromSegment));
}

/**
 * A bundle path from a query parameter's raw (still encoded) value, `/`-separated once decoded ('' or `/` for
 * the root; one leading and one trailing `/` are allowed); undefined when refused as above.
 */
export function pathFromQuery(rawValue: string | undefined): string | undefined {
  const bytes = rawValue === undefined ? Buffer.alloc(0) : percentDecode(rawValue.replace(/\+/g, ' '));
  if (!bytes) return undefined;
  const lead = bytes[0] === 0x2f ? 1 : 0;
  const body = bytes.subarray(lead, bytes.length > lead && bytes[bytes.length - 1] === 0x2f ? -1 : bytes.length);
  if (body.length === 0) return '';
  const names: (string | undefined)[] = [];
  for (let start = 0; start <= body.length; ) {
    const end = body.indexOf(0x2f, start);
    const stop = end < 0 ? body.length : end;
    names.push(nameOf(body.subarray(start, stop)));
    start = stop + 1;
  }
  return joinNames(names);
}

/** One name as a URL segment: every byte that is not unreserved percent-encoded. */
export function encodeName(name: string): string {
  let out = '';
  for (const byte of bytesOf(name)) {
    const c = String.fromCharCode(byte);
    out += UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A bundle path as URL segments joined by `/` ('' for the root). */
export function encodePath(path: string): string {
  return path === '' ? '' : path.split('/').map(encodeName).join('/');
}

/**
 * The raw query parameters of a request target, values still percent-encoded (so a path parameter can be
 * decoded to bytes); the first value of a repeated name wins.
 */
export function rawQuery(target: string): Map<string, string> {
  const out = new Map<string, string>();
  const q = target.indexOf('?');
  if (q < 0) return out;
  for (const pair of target.slice(q + 1).split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (!out.has(key)) out.set(key, eq < 0 ? '' : pair.slice(eq + 1));
  }
  return out;
}

/** A query parameter as text (UTF-8, `+` as space); undefined when absent or not decodable. */
export function textParam(query: Map<string, string>, name: string): string | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  const bytes = percentDecode(value.replace(/\+/g, ' '));
  return bytes ? bytes.toString('utf8') : undefined;
}
