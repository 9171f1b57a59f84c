/**
 * What must be undone when the process is interrupted (SIGINT/SIGTERM): work in progress registers a cleanup
 * (a restore removes its temp files), and the CLI runs them all before it exits 130. A minimal hook until
 * cancellation is threaded through the engine as an AbortSignal.
 */
type Cleanup = () => Promise<void> | void;

const cleanups = new Set<Cleanup>();

/** Registers `cleanup` to run on interruption; returns the function that unregisters it. */
export function onInterrupt(cleanup: Cleanup): () => void {
  cleanups.add(cleanup);
  return () => { cleanups.delete(cleanup); };
}

/** Runs every registered cleanup once (failures ignored: the process is going down); at most `ms` in all. */
export async function runInterruptCleanups(ms = 10_000): Promise<void> {
  const pending = [...cleanups];
  cleanups.clear();
  const all = Promise.allSettled(pending.map(async (c) => c()));
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((r) => { timer = setTimeout(r, ms); })]);
  clearTimeout(timer);
}
