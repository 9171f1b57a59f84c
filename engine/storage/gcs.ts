/**
 * The Google Cloud Storage backend, the only file importing @google-cloud/storage.
 * Store URL `gs://bucket/prefix`; `STORAGE_EMULATOR_HOST` is honoured by the SDK; credentials are Application
 * Default Credentials. The etag of an object is its generation, so create-only is `ifGenerationMatch: 0` and
 * compare-and-swap `ifGenerationMatch: <generation>`. Every body carries a CRC32C computed with hash-wasm that
 * the server checks: in the metadata of a simple upload, in `X-Goog-Hash` on the last request of a resumable one.
 * The SDK's own retries and its JavaScript CRC32C are off: RetryingStorage retries what `classify` says, and a
 * resumable session retries its requests under the same policy (`retry`, `idleTimeoutMs`).
 */
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage as GcsClient, type Bucket, type File } from '@google-cloud/storage';
import { createCRC32 } from 'hash-wasm';
import { CRC32C_POLYNOMIAL, crc32cOf, ResumableSession, type SessionOptions, defaultSessionOptions } from './gcs-resumable.js';
import { forEachLimited } from '../runtime/concurrency.js';
import { parseBucketUrl } from './bucket-url.js';
import { gcsCapabilities } from './capabilities.js';
import { pageEntries } from './list-util.js';
import { cachedIdentity } from './identity.js';
import {
  type Body, type ByteRange, type Capabilities, type ListEntry, type MultipartOptions, type MultipartUpload, type ObjectInfo,
  type PutOptions, type PutResult, type Storage, StorageError, type StorageErrorKind, bodyParts,
} from './storage.js';

export class GcsStorage implements Storage {
  readonly capabilities: Capabilities = gcsCapabilities;
  readonly url: string;
  private readonly bucket: Bucket;
  private readonly prefix: string;
  private readonly session: SessionOptions;
  private readonly client: GcsClient;
  /** The account of the credentials (gcs-identity.ts); against an emulator, what the credentials file names. */
  readonly identity = cachedIdentity(async () => (await import('./gcs-identity.js')).gcsIdentity(this.client, this.emulated, this.url));
  private readonly emulated: boolean;

  /**
   * `emulatorHost` overrides STORAGE_EMULATOR_HOST for this store (tests talk to two GCS servers at once);
   * `retry` and `idleTimeoutMs` govern the requests of resumable uploads (the rest are retried by RetryingStorage).
   */
  constructor(url: string, opts: { emulatorHost?: string } & Partial<SessionOptions> = {}) {
    const parsed = parseBucketUrl(url, 'gs');
    if (!parsed) throw new StorageError('permanent', `${url}: not a gs://bucket/prefix URL`);
    ({ prefix: this.prefix, url: this.url } = parsed);
    this.client = makeClient(opts.emulatorHost);
    this.emulated = Boolean(opts.emulatorHost || process.env.STORAGE_EMULATOR_HOST);
    this.bucket = this.client.bucket(parsed.bucket);
    this.session = {
      retry: opts.retry ?? defaultSessionOptions.retry, idleTimeoutMs: opts.idleTimeoutMs ?? defaultSessionOptions.idleTimeoutMs,
    };
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const [md] = await this.file(key).getMetadata();
      const sha256 = (md.metadata as Record<string, unknown> | undefined)?.sha256;
      return { key, size: Number(md.size ?? 0), etag: String(md.generation ?? ''), ...(typeof sha256 === 'string' ? { sha256 } : {}) };
    } catch (err) {
      const mapped = classify(err, `stat ${key}`, this.url);
      if (mapped.kind === 'notFound') return undefined;
      throw mapped;
    }
  }

  async *list(prefix: string, opts?: { delimiter?: string }): AsyncIterable<ListEntry> {
    let pageToken: string | undefined;
    do {
      const [files, next, response] = await this.bucket.getFiles({
        prefix: this.prefix + prefix, delimiter: opts?.delimiter, autoPaginate: false, maxResults: 1000, pageToken,
      }).catch((err) => { throw classify(err, `list ${prefix}`, this.url); });
      const prefixes = ((response as { prefixes?: string[] } | undefined)?.prefixes ?? []);
      yield* pageEntries(files.map((f) => ({ name: f.name, size: Number(f.metadata.size ?? 0) })), prefixes, (name) => this.strip(name));
      pageToken = (next as { pageToken?: string } | null)?.pageToken;
    } while (pageToken);
  }

  async get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    const range = opts?.range;
    if (range?.length === 0) {
      if (!(await this.stat(key))) throw new StorageError('notFound', `no object at ${key}`);
      return Readable.from([]);
    }
    const source = this.file(key).createReadStream({
      validation: false, // chunks are verified by their SHA-256 upstream; the SDK's CRC32C is JavaScript-slow
      ...(range ? { start: range.offset, end: range.offset + range.length - 1 } : {}),
    });
    // The SDK starts the request on the first read and reports a missing object on the stream: pipe it (which
    // reads) and wait for the response, so the caller gets notFound from this call.
    const out = new PassThrough();
    const responded = new Promise<void>((resolve, reject) => {
      source.once('response', (res: { statusCode?: number; status?: number }) => {
        const status = res.statusCode ?? res.status ?? 200;
        if (status < 300) resolve();
        else reject(classify({ code: status, message: status === 404 ? `no object at ${key}` : `HTTP ${status}` }, `get ${key}`, this.url));
      });
      source.once('error', (err) => reject(classify(err, `get ${key}`, this.url)));
    });
    pipeline(source, out).catch((err) => out.destroy(classify(err, `get ${key}`, this.url)));
    await responded;
    return out;
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<PutResult> {
    const generation = opts.ifAbsent ? 0 : opts.ifMatch === undefined ? undefined : Number(opts.ifMatch);
    if (generation !== undefined && !Number.isSafeInteger(generation)) return { status: 'precondition-failed' };
    const file = this.file(key);
    try {
      await file.save(Buffer.concat(bodyParts(body)), {
        resumable: false, validation: false,
        metadata: { crc32c: await crc32cOf(body), ...(opts.sha256 ? { metadata: { sha256: opts.sha256 } } : {}) },
        ...(generation === undefined ? {} : { preconditionOpts: { ifGenerationMatch: generation } }),
      });
      return { status: 'written', etag: String(file.metadata.generation ?? '') };
    } catch (err) {
      const mapped = classify(err, `put ${key}`, this.url);
      if (mapped.kind === 'preconditionFailed') return { status: 'precondition-failed' };
      throw mapped;
    }
  }

  async openMultipart(key: string, opts: MultipartOptions = {}): Promise<MultipartUpload> {
    const metadata = opts.sha256 ? { metadata: { sha256: opts.sha256 } } : {};
    const [uri] = await this.file(key).createResumableUpload({ metadata })
      .catch((err) => { throw classify(err, `start resumable upload ${key}`, this.url); });
    return new ResumableSession(key, uri, await createCRC32(CRC32C_POLYNOMIAL), (err, op) => classify(err, op, this.url), {
      ...this.session, ...(opts.signal ? { signal: opts.signal } : {}),
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    // GCS has no batch delete in the JSON API the SDK uses: 16 single deletes at a time.
    await forEachLimited(keys, 16, async (key) => {
      await this.file(key).delete({ ignoreNotFound: true })
        .catch((err) => { throw classify(err, `delete ${key}`, this.url); });
    });
  }

  private file(key: string): File { return this.bucket.file(this.prefix + key); }
  private strip(name: string): string { return name.slice(this.prefix.length); }
}

function makeClient(emulatorHost: string | undefined): GcsClient {
  // The SDK reads the emulator host from the environment only, when the client is built.
  const saved = process.env.STORAGE_EMULATOR_HOST;
  if (emulatorHost) process.env.STORAGE_EMULATOR_HOST = emulatorHost;
  try {
    return new GcsClient({
      projectId: process.env.GOOGLE_CLOUD_PROJECT ?? (process.env.STORAGE_EMULATOR_HOST ? 'demo-datamover' : undefined),
      retryOptions: { autoRetry: false, maxRetries: 0 },
    });
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  }
}

const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED']);

/** Maps an SDK, HTTP or socket error to a StorageError (404 notFound, 412 precondition, 408/429/5xx and resets retryable). */
export function classify(err: unknown, op: string, url: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { code?: number | string; status?: number; message?: string; response?: { status?: number } };
  const status = typeof e.code === 'number' ? e.code : e.status ?? e.response?.status;
  let kind: StorageErrorKind = 'permanent';
  if (status === 404) kind = 'notFound';
  else if (status === 412) kind = 'preconditionFailed';
  else if (status === 408 || status === 429 || (status !== undefined && status >= 500)) kind = 'retryable';
  else if (status === undefined && (RETRYABLE_ERRNO.has(String(e.code)) || /socket hang up|ECONNRESET|timed? ?out/i.test(e.message ?? ''))) kind = 'retryable';
  return new StorageError(kind, `${url} ${op}: ${status ? `HTTP ${status}: ` : ''}${(e.message ?? String(err)).split('\n')[0]}`, { cause: err });
}
