/**
 * The hash stage: a piscina pool running `workers/hash-worker.js`. Tasks carry a pooled buffer in by transfer
 * and get it back by transfer.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { HashOutcome, HashTask } from '../../workers/hash-ranges.js';

const workerFile = new URL('../../workers/hash-worker.js', import.meta.url).href;

export class HashStage {
  /** Started on the first task: an upload whose files all come from the file cache never starts threads. */
  private pool?: Piscina<HashTask, HashOutcome>;
  readonly threads: number;

  constructor(threads = defaultWorkerCount()) {
    this.threads = threads;
  }

  /** Tasks that may usefully be in flight: enough to keep every thread busy while results are handled. */
  get depth(): number { return this.threads * 2; }

  run(task: HashTask): Promise<HashOutcome> {
    this.pool ??= new Piscina({ filename: workerFile, minThreads: this.threads, maxThreads: this.threads, idleTimeout: 1_000 });
    return this.pool.run(task, { transferList: [task.buffer] });
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
  }
}

/** One worker per core: the work is CPU-bound hashing plus page-cache reads. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}
