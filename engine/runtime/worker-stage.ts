/**
 * A pipeline stage run on a piscina pool of one thread per core. Each task's `buffer` is moved in, never copied.
 * The pool starts on the first task: a run that needs no worker (everything from the file cache, nothing to
 * restore) never starts threads.
 */
import os from 'node:os';
import type { Piscina } from 'piscina';
import { throwIfInterrupted } from '../cancel.js';

/**
 * piscina loads a worker file with require() first and import() only when that throws. Node 20.19+ and 22 let
 * require() load ES modules, and that path can abort the whole process on a V8 assertion
 * (CreateRequiredModuleFacade; seen here once in a few runs, when a worker module loads a native addon as it is
 * evaluated). Without it require() throws ERR_REQUIRE_ESM and piscina imports the module. A Node without the
 * flag passes none.
 */
const NO_REQUIRE_ESM = '--no-experimental-require-module';
const WORKER_EXEC_ARGV = process.allowedNodeEnvironmentFlags.has(NO_REQUIRE_ESM) ? [...process.execArgv, NO_REQUIRE_ESM] : process.execArgv;

export class WorkerStage<Task extends { buffer: ArrayBuffer }, Outcome> {
  /** piscina itself is loaded with the first pool: a command that starts no thread (gc, ls) never loads it. */
  private pool?: Promise<Piscina<Task, Outcome>>;

  constructor(private readonly workerFile: string, readonly threads = defaultWorkerCount()) {}

  /** Tasks that may usefully be in flight: enough to keep every thread busy while results are handled. */
  get depth(): number { return this.threads * 2; }

  /**
   * Runs `task` on a thread. With an aborted `signal` the task is refused (INTERRUPTED) before it is sent;
   * tasks already running are never cut: they settle, and their results are handled or dropped by the caller.
   */
  async run(task: Task, signal?: AbortSignal): Promise<Outcome> {
    throwIfInterrupted(signal);
    this.pool ??= import('piscina').then(({ Piscina: Pool }) => new Pool<Task, Outcome>({
      filename: this.workerFile, minThreads: this.threads, maxThreads: this.threads, idleTimeout: 1_000, execArgv: WORKER_EXEC_ARGV,
    }));
    const pool = await this.pool;
    throwIfInterrupted(signal);
    return pool.run(task, { transferList: [task.buffer] });
  }

  /** Stops the threads. Idempotent; a later task starts a new pool. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await (await pool)?.destroy();
  }
}

/** One worker per core: the work is CPU-bound hashing plus page-cache I/O. */
export function defaultWorkerCount(): number {
  return Math.max(1, os.availableParallelism());
}
