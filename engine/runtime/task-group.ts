/**
 * Bounded fan-out of tasks that are produced one at a time (a stream of batches, not a known list: see
 * forEachLimited for that). At most `limit` run at once. The first failure is kept and stops new work: `start`
 * throws it from then on; `settle` waits for every task in flight, then throws it. A task's failure never goes
 * unobserved, and no task is left running when `settle` returns or throws.
 */
export class TaskGroup {
  private readonly running = new Set<Promise<void>>();
  private failed = false;
  private firstFailure: unknown;

  /** @param onFailure told of the first failure as it happens (e.g. to stop a producer sharing it). */
  constructor(private readonly limit: number, private readonly onFailure?: (err: unknown) => void) {}

  /** How many tasks are in flight. */
  get size(): number {
    return this.running.size;
  }

  /** Waits for a free slot, then starts `task` without waiting for it. Throws the first failure instead, if any. */
  async start(task: () => Promise<void>): Promise<void> {
    while (this.running.size >= this.limit && !this.failed) await Promise.race(this.running);
    this.throwIfFailed();
    const run = task().catch((err: unknown) => this.fail(err));
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
  }

  /** Records `err` as the group's failure unless one came first. */
  fail(err: unknown): void {
    if (this.failed) return;
    [this.failed, this.firstFailure] = [true, err];
    this.onFailure?.(err);
  }

  /** Waits until no task runs (tasks started meanwhile included); never throws. */
  async idle(): Promise<void> {
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  /** Waits for every task, then throws the first failure, if any. */
  async settle(): Promise<void> {
    await this.idle();
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.firstFailure;
  }
}
