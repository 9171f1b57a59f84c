/**
 * Retry decorator: retries operations that fail with a `retryable` StorageError, with exponential backoff and
 * full jitter, within a total deadline. Bodies are replayable (DESIGN §4), so a retried put sends the same bytes.
 * A body that breaks off while being read (reset, truncated, cut by the idle timeout) resumes with a ranged
 * read from the first byte not yet delivered, so the consumer sees one unbroken stream.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Principal } from './identity.js';
import { hasMethod, optionalMethods } from './optional.js';
import {
  type Body, type GetOptions, type ListEntry, type ListOptions, type MultipartOptions, type MultipartUpload,
  type ObjectInfo, type PutOptions, type PutResult, type RequestOptions, type Storage, StorageError, bodyParts, isStorageError,
  readIfExists,
} from './storage.js';

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  deadlineMs: number;
  /** Called before each retry; for metrics and events. */
  onRetry?: (op: string, attempt: number, err: unknown) => void;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 10, baseDelayMs: 100, maxDelayMs: 5_000, deadlineMs: 120_000 };

export class RetryingStorage implements Storage {
  declare readonly readInto?: Storage['readInto'];
  declare readonly abortStaleUploads?: Storage['abortStaleUploads'];
  declare readonly pendingUploads?: Storage['pendingUploads'];

  /** Has the optional methods `inner` has, each with retries. */
  constructor(readonly inner: Storage, private readonly policy: RetryPolicy = defaultRetryPolicy) {
    // Arguments pass through whole (...args), so a parameter added to an optional method is never dropped here.
    Object.assign(this, optionalMethods((name) => hasMethod(inner, name), {
      readInto: (...args) => this.retry(`get ${args[0]}`, () => inner.readInto!(...args), args[3]?.signal),
      abortStaleUploads: (...args) => this.retry(`abort stale uploads under ${args[0]}`, () => inner.abortStaleUploads!(...args)),
      pendingUploads: (...args) => this.retry(`list pending uploads under ${args[0]}`, () => inner.pendingUploads!(...args)),
    }));
  }

  get url() { return this.inner.url; }
  get capabilities() { return this.inner.capabilities; }

  stat(key: string, opts?: RequestOptions): Promise<ObjectInfo | undefined> {
    return this.retry(`stat ${key}`, () => this.inner.stat(key, opts), opts?.signal);
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    // A listing restarts from the beginning on failure only before it yielded anything.
    const entries = await this.retry(`list ${prefix}`, async () => {
      const all: ListEntry[] = [];
      for await (const e of this.inner.list(prefix, opts)) all.push(e);
      return all;
    }, opts?.signal);
    yield* entries;
  }

  async get(key: string, opts?: GetOptions): Promise<Readable> {
    const first = await this.retry(`get ${key}`, () => this.inner.get(key, opts), opts?.signal);
    return Readable.from(this.resumingBody(key, opts, first), { objectMode: false });
  }

  /**
   * Conditional puts are made unambiguous: when an attempt failed after the server may have applied it (the
   * response was lost) and the retry is refused as a precondition failure, the object is read back; if it
   * holds exactly our bytes, our write is the one that took effect and the result is `written`.
   */
  async put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    let ambiguous = false;
    const result = await this.retry(`put ${key}`, () => this.inner.put(key, body, opts), opts?.signal, () => { ambiguous = true; });
    const conditional = opts?.ifAbsent || opts?.ifMatch !== undefined;
    if (result.status !== 'precondition-failed' || !ambiguous || !conditional) return result;
    const stored = await readIfExists(this, key);
    if (!stored?.equals(Buffer.concat(bodyParts(body)))) return result;
    const info = await this.stat(key, opts);
    return info ? { status: 'written', etag: info.etag } : result;
  }

  async openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload> {
    // The signal cuts the parts and the completion, never the create nor the abort (MultipartOptions); it only
    // ends the retrying of a create that failed.
    const signal = opts?.signal;
    const upload = await this.retry(`open ${key}`, () => this.inner.openMultipart(key, opts), signal);
    return {
      writePart: (n, body) => this.retry(`part ${n} of ${key}`, () => upload.writePart(n, body), signal),
      complete: () => this.retry(`complete ${key}`, () => upload.complete(), signal),
      abort: () => this.retry(`abort ${key}`, () => upload.abort()),
    };
  }

  /** The inner store's (cached there); a transient failure to resolve it is retried like a request. */
  identity(key?: string): Promise<Principal> {
    return this.retry('resolve the identity of the credentials', () => this.inner.identity(key));
  }

  delete(keys: readonly string[], opts?: RequestOptions): Promise<void> {
    return this.retry(`delete ${keys.length} keys`, () => this.inner.delete(keys, opts), opts?.signal);
  }

  /**
   * The bytes of `stream`, then, each time it breaks off, of a ranged read from the first byte not yet
   * delivered, until `range` (or the whole object) is complete. A ranged body that ends short of an object
   * that is long enough is a failure too; one that ends at the object's end is passed on as it is. An unranged
   * body relies on the transport (HTTP Content-Length) to report a short body as an error.
   */
  private async *resumingBody(key: string, opts: GetOptions | undefined, stream: Readable): AsyncGenerator<Buffer> {
    const { range, signal } = opts ?? {};
    const start = range?.offset ?? 0;
    let expected = range?.length;
    let delivered = 0;
    let deliveredBefore = 0;
    let deadline = Date.now() + this.policy.deadlineMs;
    for (let attempt = 1; ; attempt++) {
      if (delivered > deliveredBefore) {
        // A body that made progress since the last break starts its attempts and deadline afresh.
        [attempt, deliveredBefore, deadline] = [1, delivered, Date.now() + this.policy.deadlineMs];
      }
      try {
        for await (const chunk of stream) {
          delivered += (chunk as Buffer).length;
          yield chunk as Buffer;
        }
        if (expected === undefined || delivered === expected) return;
        // A range reaching past the end of a (truncated) object ends short every time: the reader judges that.
        const info = await this.stat(key, { signal });
        if (!info || info.size <= start + delivered) return;
        throw new StorageError('retryable', `${this.url} get ${key}: body ended after ${delivered} of ${expected} bytes`);
      } catch (err) {
        stream.destroy();
        const failure = isStorageError(err) ? err
          : new StorageError('retryable', `${this.url} get ${key}: body broke off after ${delivered} bytes: ${(err as Error).message}`, { cause: err });
        if (failure.kind !== 'retryable' || signal?.aborted) throw failure;
        await this.backoff(`get ${key}`, attempt, failure, deadline, signal);
        if (expected === undefined) {
          // An unranged read resumes within the object's size. Whole-object reads are of immutable objects, or
          // of labels small enough to arrive in one packet.
          const info = await this.stat(key, { signal });
          if (!info) throw new StorageError('notFound', `no object at ${key}`);
          expected = info.size - start;
        }
        if (delivered >= expected) return;
        const rest = { offset: start + delivered, length: expected - delivered };
        stream = await this.retry(`get ${key}`, () => this.inner.get(key, { range: rest, signal }), signal);
      }
    }
  }

  private retry<T>(op: string, fn: () => Promise<T>, signal?: AbortSignal, onRetryable?: () => void): Promise<T> {
    return withRetries(this.policy, op, fn, onRetryable, signal);
  }

  private backoff(op: string, attempt: number, err: StorageError, deadline: number, signal?: AbortSignal): Promise<void> {
    return backoff(this.policy, op, attempt, err, deadline, signal);
  }
}

/**
 * The shared retry loop (also of requests made outside this decorator, like a GCS resumable session's): runs
 * `fn(attempt)` until it succeeds or fails with other than a retryable StorageError, waiting with backoff
 * between attempts. Throws the last error once `policy.attempts` attempts are made or `policy.deadlineMs` passed,
 * or at once when `signal` is aborted (also mid-backoff).
 */
export async function withRetries<T>(
  policy: RetryPolicy, op: string, fn: (attempt: number) => Promise<T>, onRetryable?: () => void, signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + policy.deadlineMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!isStorageError(err, 'retryable') || signal?.aborted) throw err;
      onRetryable?.();
      await backoff(policy, op, attempt, err, deadline, signal);
    }
  }
}

/** Waits before retry `attempt + 1` (full jitter); rethrows `err` when the attempts or the deadline are used up, or on abort. */
async function backoff(policy: RetryPolicy, op: string, attempt: number, err: StorageError, deadline: number, signal?: AbortSignal): Promise<void> {
  const { attempts, baseDelayMs, maxDelayMs } = policy;
  const delay = Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  if (attempt >= attempts || Date.now() + delay > deadline) throw err;
  policy.onRetry?.(op, attempt, err);
  await sleep(delay, undefined, signal ? { signal } : undefined).catch(() => { throw err; });
}
