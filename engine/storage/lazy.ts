/**
 * A backend whose module loads on first use: the cloud SDKs take ~0.25 s to import, which a command on the
 * local store (or one that fails on its arguments) should not pay.
 */
import type { Readable } from 'node:stream';
import type {
  Body, ByteRange, Capabilities, ListEntry, MultipartOptions, MultipartUpload, ObjectInfo, PutOptions, PutResult, Storage,
} from './storage.js';

export class LazyStorage implements Storage {
  private loaded: Promise<Storage> | undefined;

  constructor(readonly url: string, readonly capabilities: Capabilities, private readonly load: () => Promise<Storage>) {}

  private inner(): Promise<Storage> {
    return (this.loaded ??= this.load());
  }

  async stat(key: string): Promise<ObjectInfo | undefined> { return (await this.inner()).stat(key); }
  async *list(prefix: string, opts?: { delimiter?: string }): AsyncIterable<ListEntry> { yield* (await this.inner()).list(prefix, opts); }
  async get(key: string, opts?: { range?: ByteRange }): Promise<Readable> { return (await this.inner()).get(key, opts); }
  async put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> { return (await this.inner()).put(key, body, opts); }
  async openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload> { return (await this.inner()).openMultipart(key, opts); }
  async delete(keys: readonly string[]): Promise<void> { return (await this.inner()).delete(keys); }
  async abortStaleUploads(prefix: string, olderThanMs: number): Promise<string[]> {
    return (await this.inner()).abortStaleUploads?.(prefix, olderThanMs) ?? [];
  }
}
