/**
 * piscina entry point: hash (and, when asked, compress) the task's ranges. The buffer goes back to the main
 * thread with `Piscina.move()`, wrapped together with the digests through piscina's Transferable protocol: no
 * copy of the data, no cloned buffer.
 */
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { compressPieces } from './compress-pieces.js';
import { type HashOutcome, type HashTask, hashRanges } from './hash-ranges.js';

export default function hashTask(task: HashTask): ReturnType<typeof move> {
  const outcome: HashOutcome = hashRanges(task, threadId);
  if (task.zstdLevel) outcome.stored = compressPieces(task, outcome, task.zstdLevel);
  return move({
    get [transferableSymbol]() { return [outcome.buffer]; },
    get [valueSymbol]() { return outcome; },
  });
}
