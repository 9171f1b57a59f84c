/**
 * Content-defined chunking (FastCDC: a gear rolling hash with normalised chunking), so that bytes inserted into a
 * large file move only the chunks around the insertion. Pure and synchronous; runs inside the hash workers.
 *
 * The gear table and the masks are part of the store format: changing them changes every boundary.
 */

export interface CdcParams { min: number; avg: number; max: number }

/** 256 pseudo-random 32-bit values from a fixed xorshift seed. Never change: boundaries depend on them. */
const GEAR = (() => {
  const table = new Int32Array(256);
  let x = 0x9e3779b9;
  for (let i = 0; i < 256; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    table[i] = x | 0;
  }
  return table;
})();

/** A mask of `bits` one-bits in the high half of the word (the bytes longest in the window weigh there). */
function mask(bits: number): number {
  return bits >= 32 ? -1 : (((2 ** bits - 1) << (32 - bits)) | 0);
}

/**
 * Lengths of the chunks `data` is cut into: each between `min` and `max` (the last may be shorter), averaging
 * about `avg`. Normalised chunking: a harder mask before `avg`, an easier one after, so sizes cluster at `avg`.
 * Deterministic: the same bytes always give the same cuts.
 */
export function cdcCuts(data: Uint8Array, p: CdcParams): number[] {
  const bits = Math.round(Math.log2(p.avg));
  const hard = mask(bits + 2);
  const easy = mask(bits - 2);
  const cuts: number[] = [];
  let start = 0;
  while (start < data.length) {
    const length = nextCut(data, start, Math.min(data.length, start + p.max), start + p.min, start + p.avg, hard, easy);
    cuts.push(length);
    start += length;
  }
  return cuts;
}

function nextCut(data: Uint8Array, start: number, end: number, minEnd: number, normal: number, hard: number, easy: number): number {
  if (end <= minEnd) return end - start;
  let hash = 0;
  let i = minEnd;
  const firstEnd = Math.min(normal, end);
  for (; i < firstEnd; i++) {
    hash = ((hash << 1) + GEAR[data[i]!]!) | 0;
    if ((hash & hard) === 0) return i + 1 - start;
  }
  for (; i < end; i++) {
    hash = ((hash << 1) + GEAR[data[i]!]!) | 0;
    if ((hash & easy) === 0) return i + 1 - start;
  }
  return end - start;
}
