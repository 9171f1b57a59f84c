/** piscina entry point for `writeFiles`. The buffer goes back with the outcome by transfer, to be reused. */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { type WriteTask, writeFiles } from './write-files.js';

export default async function writeTask(task: WriteTask): Promise<ReturnType<typeof move>> {
  const outcome = await writeFiles(task);
  return move({
    get [transferableSymbol]() { return [outcome.buffer]; },
    get [valueSymbol]() { return outcome; },
  });
}
