/**
 * The `Range` header of a download (RFC 9110 §14): one byte range. Several ranges (a multipart answer) are not
 * served: the whole file is, which RFC 9110 allows a server to do with any Range it does not support.
 */

/** What to send: the whole file, one range of it, or 416 (no byte of the range exists). */
export type RangeAnswer = { kind: 'whole' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

/**
 * Reads `header` against a file of `size` bytes. `bytes=a-b`, `bytes=a-` and `bytes=-n` (the last n bytes) are
 * served; `end` past the file is cut to its last byte. A malformed header, another unit or several ranges are
 * ignored (the whole file). A range starting at or past the end, or a suffix of 0 bytes, is unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: 'whole' };
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'whole' };
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? Infinity : Number(m[2]);
  if (end < start) return { kind: 'whole' }; // invalid, so ignored (RFC 9110 §14.1.1)
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end, size - 1) };
}
