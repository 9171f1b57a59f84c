/**
 * Retry decorator: retries operations that fail with a `retryable` StorageError, with exponential backoff and
 * full jitter, within a total deadline. Bodies are replayable (DESIGN §4), so a retried put sends the same bytes.
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type Body, type ByteRange, type ListEntry, type MultipartUpload, type ObjectInfo, type PutOptions,
  type PutResult, type Storage, isStorageError,
} from './storage.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  deadlineMs: number;
  /** Called before each retry; for metrics and events. */
  onRetry?: (op: string, attempt: number, err: unknown) => void;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 6, baseDelayMs: 100, maxDelayMs: 5_000, deadlineMs: 120_000 };

export class RetryingStorage implements Storage {
  constructor(readonly inner: Storage, private readonly policy: RetryPolicy = defaultRetryPolicy) {}

  get url() { return this.inner.url; }
  get capabilities() { return this.inner.capabilities; }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.retry(`stat ${key}`, () => this.inner.stat(key));
  }

  async *list(prefix: string, opts?: { delimiter?: string }): AsyncIterable<ListEntry> {
    // A listing restarts from the beginning on failure only before it yielded anything.
    const entries = await this.retry(`list ${prefix}`, async () => {
      const all: ListEntry[] = [];
      for await (const e of this.inner.list(prefix, opts)) all.push(e);
      return all;
    });
    yield* entries;
  }

  get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    return this.retry(`get ${key}`, () => this.inner.get(key, opts));
  }

  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    return this.retry(`put ${key}`, () => this.inner.put(key, body, opts));
  }

  async openMultipart(key: string): Promise<MultipartUpload> {
    const upload = await this.retry(`open ${key}`, () => this.inner.openMultipart(key));
    return {
      writePart: (n, body) => this.retry(`part ${n} of ${key}`, () => upload.writePart(n, body)),
      complete: () => this.retry(`complete ${key}`, () => upload.complete()),
      abort: () => this.retry(`abort ${key}`, () => upload.abort()),
    };
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.retry(`delete ${keys.length} keys`, () => this.inner.delete(keys));
  }

  private async retry<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs, deadlineMs } = this.policy;
    const deadline = Date.now() + deadlineMs;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const delay = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
        if (!isStorageError(err, 'retryable') || attempt >= attempts || Date.now() + delay > deadline) throw err;
        this.policy.onRetry?.(op, attempt, err);
        await sleep(delay);
      }
    }
  }
}
