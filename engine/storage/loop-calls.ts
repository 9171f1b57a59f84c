/**
 * System calls made on the event loop while they are cheap. A stat or a readdir the kernel answers from its
 * caches takes a few µs; carried to libuv's thread pool it costs tens of µs of CPU in hand-offs between
 * threads (listing 3,130 packs on a 2-core VM: 230 ms of CPU through the pool, 30 ms on the loop), which a
 * collector that lists thousands of files pays on a machine whose cores are already busy. A call that waits on
 * a device or a network file system would hold up the whole loop, though: once calls are often slower than
 * SLOW_CALL_MS, every later call of this instance goes to the pool. One slow call proves nothing: a thread
 * descheduled on a busy machine made a cached stat take 2–9 ms a few times in 5,000 calls.
 */

/** A call slower than this waited on a device or a network (a cached stat takes 5–30 µs). */
export const SLOW_CALL_MS = 0.25;
/** Slow calls that switch to the pool, when they are also more than 1 in SLOW_SHARE of the calls so far. */
export const SLOW_CALLS_TO_SWITCH = 8;
const SLOW_SHARE = 64;
/** Loop time given to calls before the loop is let go once (timers — lease renewals — and other requests run). */
export const SLICE_MS = 10;

export class LoopCalls {
  private slow = false;
  private callCount = 0;
  private slowCount = 0;
  private sliceStart = performance.now();

  /** `slowCallMs`: what counts as a slow call (tests set it far from the noise of a loaded machine). */
  constructor(private readonly slowCallMs = SLOW_CALL_MS) {}

  /** Whether calls go to the pool now (calls were often slow). */
  get onPool(): boolean { return this.slow; }

  /**
   * The result of `onLoop()` while calls are cheap, of `onPool()` once calls were often slow: the two must do the same
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
      this.callCount++;
      if (performance.now() - start > this.slowCallMs && ++this.slowCount >= SLOW_CALLS_TO_SWITCH) this.slow = this.slowCount * SLOW_SHARE > this.callCount;
    }
  }
}
