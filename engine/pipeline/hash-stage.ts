/**
 * The hash stage: a piscina pool running `workers/hash-worker.js`. Tasks carry a pooled buffer in by transfer
 * and get it back by transfer.
 */
import os from 'node:os';
import { Piscina } from 'piscina';
import type { HashOutcome, HashTask } from '../../workers/hash-ranges.js';

const workerFile = new URL('../../workers/hash-worker.js', import.meta.url).href;

export class HashStage {
  private readonly pool: Piscina<HashTask, HashOutcome>;
  readonly threads: number;

  constructor(threads = defaultWorkerCount()) {
    this.threads = threads;
    this.pool = new Piscina({ filename: workerFile, minThreads: threads, maxThreads: threads, idleTimeout: 1_000 });
  }

  /** Tasks that may usefully be in flight: enough to keep every thread busy while results are handled. */
  get depth(): number { return this.threads * 2; }

  run(task: HashTask): Promise<HashOutcome> {
    return this.pool.run(task, { transferList: [task.buffer] });
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}

/** One worker per core: the work is CPU-bound hashing plus page-cache reads. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}
