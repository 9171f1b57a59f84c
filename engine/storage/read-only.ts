/**
 * The decorator of a dry run: reads pass through, and any write (put, multipart, delete, aborting uploads) is
 * refused with an internal error before it is sent. A dry run never means to write; this makes a slip fail
 * loudly instead of changing the store.
 */
import type { Readable } from 'node:stream';
import type { Principal } from './identity.js';
import { hasMethod, optionalMethods } from './optional.js';
import type { Body, GetOptions, ListEntry, ListOptions, MultipartUpload, ObjectInfo, PutResult, Storage } from './storage.js';

export function readOnly(storage: Storage): Storage {
  return new ReadOnlyStorage(storage);
}

class ReadOnlyStorage implements Storage {
  declare readonly readInto?: Storage['readInto'];
  declare readonly pendingUploads?: Storage['pendingUploads'];

  constructor(private readonly inner: Storage) {
    Object.assign(this, optionalMethods((name) => name !== 'abortStaleUploads' && hasMethod(inner, name), {
      readInto: (...args) => inner.readInto!(...args),
      abortStaleUploads: (prefix) => refused('abortStaleUploads', prefix),
      pendingUploads: (...args) => inner.pendingUploads!(...args),
    }));
  }

  get url() { return this.inner.url; }
  get capabilities() { return this.inner.capabilities; }
  stat(key: string): Promise<ObjectInfo | undefined> { return this.inner.stat(key); }
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> { return this.inner.list(prefix, opts); }
  get(key: string, opts?: GetOptions): Promise<Readable> { return this.inner.get(key, opts); }
  put(key: string, _body: Body): Promise<PutResult> { return refused('put', key); }
  openMultipart(key: string): Promise<MultipartUpload> { return refused('openMultipart', key); }
  delete(keys: readonly string[]): Promise<void> { return refused('delete', keys[0] ?? ''); }
  /** Answered (a read of the credentials): a dry run may describe what it would record. */
  identity(key?: string): Promise<Principal> { return this.inner.identity(key); }
}

async function refused(op: string, key: string): Promise<never> {
  throw new Error(`internal error: a dry run tried to write (${op} ${key})`);
}
