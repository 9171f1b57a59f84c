/**
 * piscina entry point for `writeFiles`, after decoding the task's compressed pieces. The buffer goes back with
 * the outcome by transfer, to be reused.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type WriteTask, decodePieces, writeFiles } from './write-files.js';

export default async function writeTask(task: WriteTask): Promise<ReturnType<typeof move>> {
  const outcome = writeFiles(task, await decodePieces(task));
  return move({
    get [transferableSymbol]() { return [outcome.buffer]; },
    get [valueSymbol]() { return outcome; },
  });
}
