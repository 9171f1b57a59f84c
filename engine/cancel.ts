/**
 * Cancellation: one AbortSignal per run (the CLI aborts it on SIGINT/SIGTERM) reaches the scan, the worker
 * stages and every storage request. Work that sees it aborted stops scheduling, lets what is in flight settle,
 * undoes what it started (multipart uploads, temp files) and fails with INTERRUPTED; nothing is committed after
 * the abort.
 */
import { DatamoverError } from './errors.js';

/** The error of a run stopped by its signal; `cause` is the failure the abort provoked, if any. */
export function interruptedError(cause?: unknown): DatamoverError {
  return new DatamoverError('INTERRUPTED', 'interrupted', cause === undefined ? undefined : { cause });
}

/** Throws INTERRUPTED when `signal` is aborted: the check before scheduling more work. */
export function throwIfInterrupted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interruptedError();
}

/** `err`, or INTERRUPTED when `signal` was aborted: a failure after the abort is its consequence, not a fault. */
export function asInterrupted(err: unknown, signal: AbortSignal | undefined): unknown {
  return signal?.aborted && !(err instanceof DatamoverError && err.code === 'INTERRUPTED') ? interruptedError(err) : err;
}

/** Runs `work`; a failure once `signal` is aborted is INTERRUPTED (see asInterrupted). */
export async function interruptible<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asInterrupted(err, signal);
  }
}
