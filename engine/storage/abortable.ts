/**
 * The decorator that puts a run's AbortSignal on every request of a store: each call carries the signal (a
 * request in flight is cut), a call made after the abort is refused before it is sent, and every failure after
 * the abort is INTERRUPTED. A multipart upload's `abort` is never refused: an upload cut short is discarded.
 * Work that must still be written after the abort (the read log's record of the interrupted read) uses the
 * store it was given, not this one.
 */
import type { Readable } from 'node:stream';
import { asInterrupted, throwIfInterrupted } from '../cancel.js';
import type { Principal } from './identity.js';
import { hasMethod, optionalMethods } from './optional.js';
import type {
  Body, GetOptions, ListEntry, ListOptions, MultipartOptions, MultipartUpload, ObjectInfo, PutOptions, PutResult,
  Storage,
} from './storage.js';

/** `storage` with `signal` on every request; `storage` itself without a signal. */
export function abortable(storage: Storage, signal: AbortSignal | undefined): Storage {
  return signal ? new AbortableStorage(storage, signal) : storage;
}

class AbortableStorage implements Storage {
  declare readonly readInto?: Storage['readInto'];
  declare readonly abortStaleUploads?: Storage['abortStaleUploads'];
  declare readonly pendingUploads?: Storage['pendingUploads'];

  /** Has the optional methods `inner` has, each with the signal. */
  constructor(private readonly inner: Storage, private readonly signal: AbortSignal) {
    Object.assign(this, optionalMethods((name) => hasMethod(inner, name), {
      readInto: (key, range, into, opts) => this.call(() => inner.readInto!(key, range, into, { ...opts, signal })),
      abortStaleUploads: (...args) => this.call(() => inner.abortStaleUploads!(...args)),
      pendingUploads: (...args) => this.call(() => inner.pendingUploads!(...args)),
    }));
  }

  get url() { return this.inner.url; }
  get capabilities() { return this.inner.capabilities; }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.call(() => this.inner.stat(key, { signal: this.signal }));
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    throwIfInterrupted(this.signal);
    try {
      for await (const entry of this.inner.list(prefix, { ...opts, signal: this.signal })) {
        throwIfInterrupted(this.signal);
        yield entry;
      }
    } catch (err) {
      throw asInterrupted(err, this.signal);
    }
  }

  get(key: string, opts?: GetOptions): Promise<Readable> {
    return this.call(() => this.inner.get(key, { ...opts, signal: this.signal }));
  }

  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> {
    return this.call(() => this.inner.put(key, body, { ...opts, signal: this.signal }));
  }

  async openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload> {
    const upload = await this.call(() => this.inner.openMultipart(key, { ...opts, signal: this.signal }));
    return {
      writePart: (n, body) => this.call(() => upload.writePart(n, body)),
      complete: () => this.call(() => upload.complete()),
      abort: () => upload.abort(),
    };
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.call(() => this.inner.delete(keys, { signal: this.signal }));
  }

  /**
   * Refused after the abort, like every call; never cut once asked (the answer is cached in the store and shared
   * by every caller, so one caller's signal must not fail it for the others).
   */
  identity(key?: string): Promise<Principal> {
    return this.call(() => this.inner.identity(key));
  }

  private async call<T>(request: () => Promise<T>): Promise<T> {
    throwIfInterrupted(this.signal);
    try {
      return await request();
    } catch (err) {
      throw asInterrupted(err, this.signal);
    }
  }
}
