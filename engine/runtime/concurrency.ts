/** Bounded concurrency without a queue library: the one helper every fan-out in the engine uses. */

/**
 * Runs `fn` over `items` in order of start, at most `limit` at once. The first failure stops new work; the
 * calls in flight settle, then it is thrown.
 */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  let failure: unknown;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        if (!failed) [failed, failure] = [true, err];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed) throw failure;
}
