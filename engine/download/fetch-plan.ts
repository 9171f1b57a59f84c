/**
 * Groups the blobs a batch needs by pack and coalesces neighbours into few ranged reads: blobs of files that
 * were uploaded together sit next to each other in a pack, so a batch of small files is often one GET.
 */
import type { BlobLocation } from '../vocab.js';

export interface Piece<T> { hash: string; location: BlobLocation; target: T }

export interface RangeRead<T> { pack: string; offset: number; length: number; pieces: Piece<T>[] }

/** The longest coalesced read; one piece longer than this is read alone. */
export const MAX_READ = 16 * 1024 * 1024;

/** Reads that cover every piece; gaps up to `maxGap` are read through, a read never exceeds `maxRead`. */
export function coalesce<T>(pieces: Piece<T>[], maxGap = 256 * 1024, maxRead = MAX_READ): RangeRead<T>[] {
  const sorted = [...pieces].sort((a, b) =>
    a.location.pack < b.location.pack ? -1 : a.location.pack > b.location.pack ? 1 : a.location.offset - b.location.offset);
  const reads: RangeRead<T>[] = [];
  let cur: RangeRead<T> | undefined;
  for (const p of sorted) {
    const { pack, offset, length } = p.location;
    const end = offset + length;
    if (cur && cur.pack === pack && offset - (cur.offset + cur.length) <= maxGap && end - cur.offset <= maxRead) {
      cur.length = Math.max(cur.length, end - cur.offset);
      cur.pieces.push(p);
    } else {
      cur = { pack, offset, length, pieces: [p] };
      reads.push(cur);
    }
  }
  return reads;
}
