/**
 * piscina entry point. The buffer goes back to the main thread with `Piscina.move()`, wrapped together with
 * the digests through piscina's Transferable protocol: no copy of the data, no cloned buffer.
 */
import { threadId } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type HashOutcome, type HashTask, hashRanges } from './hash-ranges.js';

export default function hashTask(task: HashTask): ReturnType<typeof move> {
  const outcome: HashOutcome = hashRanges(task, threadId);
  return move({
    get [transferableSymbol]() { return [outcome.buffer]; },
    get [valueSymbol]() { return outcome; },
  });
}
