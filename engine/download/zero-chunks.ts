/**
 * All-zero chunks, known by their hash: a restore leaves a hole for them (never downloads or writes them; the
 * file's size is set at the end), so sparse files come back sparse. The SHA-256 of n zero bytes is computed
 * once per length, and only for lengths that make a hole worth having (whole file-system blocks, at least
 * 64 KiB): fixed chunking cuts holes into chunks of one length, FastCDC cuts runs of zeros at its minimum or
 * maximum, and a file's last chunk counts when the file ends on a block boundary (as images do). A budget
 * bounds the hashing a crafted manifest of many lengths could ask for.
 */
import { createHash } from 'node:crypto';

const BLOCK = 4096;
const MIN_HOLE = 64 * 1024;
const MAX_CHUNK = 16 * 1024 * 1024;
/** Zero bytes this process may hash to learn new lengths. */
const BUDGET = 512 * 1024 * 1024;

const ZEROS = Buffer.alloc(1024 * 1024);
const known = new Map<number, string>();
let spent = 0;

/** The hex SHA-256 of `length` zero bytes. */
export function zeroChunkHash(length: number): string {
  let hash = known.get(length);
  if (hash === undefined) {
    const h = createHash('sha256');
    for (let left = length; left > 0; left -= ZEROS.length) h.update(left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
    hash = h.digest('hex');
    spent += length;
    known.set(length, hash);
  }
  return hash;
}

/** Whether the chunk `[hash, length]` is all zeros and long enough to leave as a hole. */
export function isHoleChunk(hash: string, length: number): boolean {
  if (length < MIN_HOLE || length > MAX_CHUNK || length % BLOCK !== 0) return false;
  if (!known.has(length) && spent + length > BUDGET) return false;
  return zeroChunkHash(length) === hash;
}
