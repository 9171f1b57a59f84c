/**
 * A backend whose module loads on first use: the cloud SDKs take ~0.25 s to import, which a command on the
 * local store (or one that fails on its arguments) should not pay.
 */
import type { Readable } from 'node:stream';
import type { Principal } from './identity.js';
import { type OptionalMethod, optionalMethods } from './optional.js';
import {
  type Body, type GetOptions, type ListOptions, type RequestOptions, type Capabilities, type ListEntry, type MultipartOptions, type MultipartUpload, type ObjectInfo,
  type PutOptions, type PutResult, type Storage, readRangeInto,
} from './storage.js';

export class LazyStorage implements Storage {
  declare readonly readInto?: Storage['readInto'];
  declare readonly abortStaleUploads?: Storage['abortStaleUploads'];
  declare readonly pendingUploads?: Storage['pendingUploads'];
  private loaded: Promise<Storage> | undefined;

  /** `optional`: the optional methods the loaded backend has (capabilities.ts), exposed before it loads. */
  constructor(
    readonly url: string, readonly capabilities: Capabilities, optional: readonly OptionalMethod[],
    private readonly load: () => Promise<Storage>,
  ) {
    Object.assign(this, optionalMethods((name) => optional.includes(name), {
      readInto: async (...args) => readRangeInto(await this.inner(), ...args),
      abortStaleUploads: async (...args) => (await this.inner()).abortStaleUploads?.(...args) ?? [],
      pendingUploads: async (...args) => (await this.inner()).pendingUploads?.(...args) ?? [],
    }));
  }

  private inner(): Promise<Storage> {
    return (this.loaded ??= this.load());
  }

  async stat(key: string, opts?: RequestOptions): Promise<ObjectInfo | undefined> { return (await this.inner()).stat(key, opts); }
  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> { yield* (await this.inner()).list(prefix, opts); }
  async get(key: string, opts?: GetOptions): Promise<Readable> { return (await this.inner()).get(key, opts); }
  async put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> { return (await this.inner()).put(key, body, opts); }
  async openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload> { return (await this.inner()).openMultipart(key, opts); }
  async delete(keys: readonly string[], opts?: RequestOptions): Promise<void> { return (await this.inner()).delete(keys, opts); }
  async identity(key?: string): Promise<Principal> { return (await this.inner()).identity(key); }
}
