/** piscina entry point for `writeFiles`. The buffer goes back with the outcome by transfer, to be reused. */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type WriteTask, writeFiles } from './write-files.js';

export default function writeTask(task: WriteTask): ReturnType<typeof move> {
  const outcome = writeFiles(task);
  return move({
    get [transferableSymbol]() { return [outcome.buffer]; },
    get [valueSymbol]() { return outcome; },
  });
}
