/**
 * The compression step of a hash task (after `hashRanges`): each chunk that compresses is replaced in place by
 * its zstd frame, written at the chunk's start in the task's buffer (a kept frame is shorter than its chunk, so
 * it never reaches the next chunk). The buffer goes back to the main thread as before: no memory is added.
 */
import { compressChunk } from './codec.js';
import type { HashOutcome, HashTask } from './hash-ranges.js';

/**
 * Compresses the chunks of `outcome` at zstd `level`. Returns, per range and per chunk (the range itself unless
 * cut into `chunks`), the length of its zstd frame now at the chunk's start, or 0 when it stays raw. A failed
 * range has no chunks.
 */
export function compressPieces(task: HashTask, outcome: HashOutcome, level: number): number[][] {
  const view = new Uint8Array(outcome.buffer);
  const stored: number[][] = [];
  let at = 0;
  for (let i = 0; i < task.ranges.length; i++) {
    const length = task.ranges[i]!.length;
    const pieces = outcome.chunks?.[i] ?? (outcome.digests[i] ? [[outcome.digests[i]!, length] as const] : []);
    const lengths: number[] = [];
    let offset = at;
    for (const [, pieceLength] of pieces) {
      const frame = compressChunk(view.subarray(offset, offset + pieceLength), level);
      if (frame) view.set(frame, offset);
      lengths.push(frame ? frame.length : 0);
      offset += pieceLength;
    }
    stored.push(lengths);
    at += length;
  }
  return stored;
}
