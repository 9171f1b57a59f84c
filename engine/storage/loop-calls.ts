/**
 * System calls made on the event loop while they are cheap. A stat or a readdir the kernel answers from its
 * caches takes a few µs; carried to libuv's thread pool it costs tens of µs of CPU in hand-offs between
 * threads (listing 3,130 packs on a 2-core VM: 230 ms of CPU through the pool, 30 ms on the loop), which a
 * collector that lists thousands of files pays on a machine whose cores are already busy. A call that waits on
 * a device or a network file system would hold up the whole loop, though: once one call takes longer than
 * SLOW_CALL_MS, every later call of this instance goes to the pool.
 */

/** A call slower than this waited on a device or a network; the loop must not wait with the next ones. */
export const SLOW_CALL_MS = 2;
/** Loop time given to calls before the loop is let go once (timers — lease renewals — and other requests run). */
export const SLICE_MS = 10;

export class LoopCalls {
  private slow = false;
  private sliceStart = performance.now();

  /** Whether calls go to the pool now (a call was slow). */
  get onPool(): boolean { return this.slow; }

  /**
   * The result of `onLoop()` while calls are cheap, of `onPool()` once one was slow: the two must do the same
   * thing (the synchronous and the promise form of one call), with the same errors.
   */
  async run<T>(onLoop: () => T, onPool: () => Promise<T>): Promise<T> {
    if (this.slow) return onPool();
    let start = performance.now();
    if (start - this.sliceStart >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      this.sliceStart = start = performance.now();
    }
    try {
      return onLoop();
    } finally {
      if (performance.now() - start > SLOW_CALL_MS) this.slow = true;
    }
  }
}
