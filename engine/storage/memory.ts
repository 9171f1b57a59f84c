/**
 * An in-process Storage for tests and dry runs. Same contracts as every backend, checked by the conformance suite.
 */
import { Readable } from 'node:stream';
import { cachedIdentity, localIdentity } from './identity.js';
import { foldListing } from './list-util.js';
import {
  type Body, type ByteRange, type Capabilities, type ListEntry, type MultipartOptions, type MultipartUpload, type ObjectInfo,
  type PutOptions, type PutResult, type Storage, StorageError, bodyParts,
} from './storage.js';

interface Stored { data: Buffer; etag: string; sha256?: string }

export class MemoryStorage implements Storage {
  readonly capabilities: Capabilities = {
    minPartSize: 0, maxPartSize: 5 * 1024 ** 3, maxParts: 10_000, conditionalWrites: true, suggestedConcurrency: 8,
  };
  private readonly objects = new Map<string, Stored>();
  /** A process-local store is written as the process's user, like the local store. */
  readonly identity = cachedIdentity(async () => localIdentity());
  private generation = 0;

  constructor(readonly url = 'memory://') {}

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const obj = this.objects.get(key);
    return obj && { key, size: obj.data.length, etag: obj.etag, ...(obj.sha256 ? { sha256: obj.sha256 } : {}) };
  }

  async *list(prefix: string, opts?: { delimiter?: string }): AsyncIterable<ListEntry> {
    const sorted = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    yield* foldListing(sorted.map((key) => ({ key, size: this.objects.get(key)!.data.length })), prefix, opts?.delimiter);
  }

  async get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    const obj = this.objects.get(key);
    if (!obj) throw new StorageError('notFound', `no object at ${key}`);
    const data = opts?.range ? obj.data.subarray(opts.range.offset, opts.range.offset + opts.range.length) : obj.data;
    return Readable.from([data]);
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<PutResult> {
    return this.store(key, Buffer.concat(bodyParts(body)), opts);
  }

  async openMultipart(key: string, opts: MultipartOptions = {}): Promise<MultipartUpload> {
    const parts = new Map<number, Buffer>();
    let aborted = false;
    return {
      writePart: async (n, body) => {
        if (aborted) throw new StorageError('permanent', `multipart upload of ${key} was aborted`);
        parts.set(n, Buffer.concat(bodyParts(body)));
      },
      complete: async () => {
        const ordered = [...parts.entries()].sort((a, b) => a[0] - b[0]).map(([, b]) => b);
        const result = this.store(key, Buffer.concat(ordered), { sha256: opts.sha256 });
        if (result.status !== 'written') throw new StorageError('permanent', `multipart complete of ${key} failed`);
        return { key, size: ordered.reduce((n, b) => n + b.length, 0), etag: result.etag };
      },
      abort: async () => { aborted = true; parts.clear(); },
    };
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }

  private store(key: string, data: Buffer, opts: PutOptions): PutResult {
    const current = this.objects.get(key);
    if (opts.ifAbsent && current) return { status: 'precondition-failed' };
    if (opts.ifMatch !== undefined && current?.etag !== opts.ifMatch) return { status: 'precondition-failed' };
    const etag = `g${++this.generation}`;
    this.objects.set(key, { data, etag, ...(opts.sha256 ? { sha256: opts.sha256 } : {}) });
    return { status: 'written', etag };
  }
}
