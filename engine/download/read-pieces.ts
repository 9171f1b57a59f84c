/**
 * Reads one coalesced range of a pack, decodes each compressed chunk in it and checks every chunk against its
 * SHA-256, on this thread: for verify, fsck, cat and the in-place reader (a restore does the same in its write
 * workers, with the same `openChunk`).
 */
import { openChunk } from '../../workers/check-chunk.js';
import { isStorageError, readRangeInto, type Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import type { Piece, RangeRead } from './fetch-plan.js';

/** A checked chunk: its bytes, or why they are unusable (a phrase to follow "chunk <hash>"). */
export type CheckedPiece<T> = { piece: Piece<T>; blob: Buffer; damage?: undefined } | { piece: Piece<T>; blob?: undefined; damage: string };

/**
 * Damage (a missing or truncated pack, bytes that do not decode, a hash mismatch) is a value; any other storage
 * failure throws. The raw blobs of one read share its buffer (no copy). `signal` stops the read (it then throws).
 */
export async function readPieces<T>(storage: Storage, read: RangeRead<T>, signal?: AbortSignal): Promise<CheckedPiece<T>[]> {
  const pack = read.pack.slice(0, 12);
  const data = Buffer.allocUnsafe(read.length);
  let got: number;
  try {
    got = await readRangeInto(storage, keys.pack(read.pack), read, data, signal ? { signal } : undefined);
  } catch (err) {
    if (!isStorageError(err, 'notFound')) throw err;
    return read.pieces.map((piece) => ({ piece, damage: `is in pack ${pack}, which is missing` }));
  }
  const checked: CheckedPiece<T>[] = [];
  for (const piece of read.pieces) {
    const { offset, length, codec } = piece.location;
    const start = offset - read.offset;
    const opened = await openChunk(data.subarray(start, Math.min(start + length, got)), length, codec, piece.hash, pack);
    checked.push(opened.damage === undefined ? { piece, blob: opened.data } : { piece, damage: opened.damage });
  }
  return checked;
}
