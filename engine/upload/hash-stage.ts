/**
 * The hash stage: `workers/hash-worker.js` on a worker pool. Tasks carry a pooled buffer in by transfer and get
 * it back by transfer.
 */
import type { HashOutcome, HashTask } from '../../workers/hash-ranges.js';
import { WorkerStage, defaultWorkerCount } from '../runtime/worker-stage.js';

export class HashStage extends WorkerStage<HashTask, HashOutcome> {
  constructor(threads = defaultWorkerCount()) {
    super(new URL('../../workers/hash-worker.js', import.meta.url).href, threads);
  }
}
