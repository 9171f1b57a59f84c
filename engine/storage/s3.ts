/**
 * The S3 backend (AWS S3 and compatible servers), the only file importing the AWS SDK.
 * Store URL `s3://bucket/prefix`. Every body is sent with its SHA-256 twice over: as the SigV4 payload hash
 * (`x-amz-content-sha256`, which every S3 server verifies, Ceph RGW included) and as `x-amz-checksum-sha256`
 * (which AWS also stores with the object). Both come from one hash pass here; the signer does not hash again.
 * The SDK's own retries are off: the RetryingStorage decorator retries what `classify` calls retryable.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectsCommand,
  GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import {
  type Body, type Capabilities, type GetOptions, type ListEntry, type ListOptions, type MultipartOptions, type MultipartUpload,
  type ObjectInfo, type PendingUpload, type PutOptions, type PutResult, type RequestOptions, type Storage, StorageError,
  type StorageErrorKind, bodyLength, bodyParts, requestSignal,
} from './storage.js';
import { parseBucketUrl } from './bucket-url.js';
import { s3Capabilities } from './capabilities.js';
import { pageEntries } from './list-util.js';
import { cachedIdentity } from './identity.js';

export interface S3Options {
  /** A custom endpoint (RGW, MinIO, ...): addressed path-style. */
  endpoint?: string;
  /** Sockets per host; also bounds the requests in flight. */
  maxSockets?: number;
  /** A socket idle for this long is cut and the request fails retryable. */
  idleTimeoutMs?: number;
}

const CONTENT_SHA256 = 'x-amz-content-sha256';
/** User metadata (`x-amz-meta-sha256`) holding the whole object's SHA-256, for `stat`. */
const SHA256_META = 'sha256';

export class S3Storage implements Storage {
  readonly capabilities: Capabilities = s3Capabilities;
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Ceph RGW matches If-Match only against an unquoted ETag; AWS documents the quoted form. */
  private readonly quoteIfMatch: boolean;
  /** The caller identity of the credentials (s3-identity.ts, loaded on first use: only writers of records need it). */
  readonly identity = cachedIdentity(async () => (await import('./s3-identity.js')).s3Identity(this.client, this.endpoint, this.url));
  private readonly endpoint: string | undefined;

  constructor(url: string, opts: S3Options = {}) {
    const parsed = parseBucketUrl(url, 's3');
    if (!parsed) throw new StorageError('permanent', `${url}: not an s3://bucket/prefix URL`);
    ({ bucket: this.bucket, prefix: this.prefix, url: this.url } = parsed);
    this.quoteIfMatch = !opts.endpoint;
    this.endpoint = opts.endpoint;
    const env = process.env;
    // The SDK is pinned; its warning that *future* releases need Node 22 would be the only stderr line of a run.
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.client = new S3Client({
      endpoint: opts.endpoint,
      forcePathStyle: Boolean(opts.endpoint),
      // Without a configured region, start at us-east-1 and follow S3's redirect to the bucket's own region.
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      followRegionRedirects: true,
      maxAttempts: 1,
      // The SDK warns on stderr about every failed request with a streamed body, though retrying is ours.
      logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
      // Checksums are ours (below); the SDK's default would stream aws-chunked bodies that RGW refuses (411).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: 10_000,
        // An idle socket, also one stalled mid-body, fails the request (TimeoutError, retryable). There is no
        // total request timeout: a large part on a slow link is not a fault.
        socketTimeout: opts.idleTimeoutMs ?? 60_000,
        httpAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 64 },
        httpsAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 64 },
      },
    });
    this.client.middlewareStack.add(
      (next) => async (args) => {
        const hash = (args.input as { [PAYLOAD_SHA256]?: string })[PAYLOAD_SHA256];
        const request = args.request as { headers?: Record<string, string> };
        if (hash && request.headers) request.headers[CONTENT_SHA256] = hash;
        return next(args);
      },
      { step: 'build', name: 'datamoverPayloadHash' },
    );
  }

  async stat(key: string, opts?: RequestOptions): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), sendOptions(opts));
      const sha256 = out.Metadata?.[SHA256_META];
      return { key, size: out.ContentLength ?? 0, etag: unquote(out.ETag), ...(sha256 ? { sha256 } : {}) };
    } catch (err) {
      const mapped = classify(err, `stat ${key}`, this.url);
      if (mapped.kind === 'notFound') return undefined;
      throw mapped;
    }
  }

  async *list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> {
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: this.prefix + prefix, Delimiter: opts?.delimiter, ContinuationToken: token,
      }), sendOptions(opts)).catch((err) => { throw classify(err, `list ${prefix}`, this.url); });
      yield* pageEntries(
        (page.Contents ?? []).map((o) => ({ name: o.Key!, size: o.Size ?? 0 })),
        (page.CommonPrefixes ?? []).map((p) => p.Prefix!), (name) => this.strip(name),
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async get(key: string, opts?: GetOptions): Promise<Readable> {
    const range = opts?.range;
    if (range?.length === 0) {
      if (!(await this.stat(key, opts))) throw new StorageError('notFound', `no object at ${key}`);
      return Readable.from([]);
    }
    try {
      const out = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: this.prefix + key,
        Range: range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined,
      }), sendOptions(opts));
      return out.Body as Readable;
    } catch (err) {
      throw classify(err, `get ${key}`, this.url);
    }
  }

  async put(key: string, body: Body, opts: PutOptions = {}): Promise<PutResult> {
    const digest = sha256Of(body, opts.sha256);
    try {
      const out = await this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key: this.prefix + key, ...payload(body, digest),
        Metadata: { [SHA256_META]: digest.toString('hex') },
        IfNoneMatch: opts.ifAbsent ? '*' : undefined,
        IfMatch: opts.ifMatch === undefined ? undefined : this.quoteIfMatch ? `"${opts.ifMatch}"` : opts.ifMatch,
      }), sendOptions(opts));
      return { status: 'written', etag: out.ETag ? unquote(out.ETag) : (await this.stat(key))?.etag ?? '' };
    } catch (err) {
      const mapped = classify(err, `put ${key}`, this.url);
      // If-Match on a missing key is 404 on some servers, 412 on others: both mean "not the expected object".
      if (mapped.kind === 'preconditionFailed' || (opts.ifMatch !== undefined && mapped.kind === 'notFound')) {
        return { status: 'precondition-failed' };
      }
      throw mapped;
    }
  }

  async openMultipart(key: string, opts: MultipartOptions = {}): Promise<MultipartUpload> {
    const Key = this.prefix + key;
    const created = await this.client.send(new CreateMultipartUploadCommand({
      Bucket: this.bucket, Key, ChecksumAlgorithm: 'SHA256',
      ...(opts.sha256 ? { Metadata: { [SHA256_META]: opts.sha256 } } : {}),
    })).catch((err) => { throw classify(err, `start multipart ${key}`, this.url); });
    return new S3Multipart(this, key, created.UploadId!, opts.signal);
  }

  async delete(keys: readonly string[], opts?: RequestOptions): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.client.send(new DeleteObjectsCommand({
        Bucket: this.bucket, Delete: { Quiet: true, Objects: batch.map((k) => ({ Key: this.prefix + k })) },
      }), sendOptions(opts)).catch((err) => { throw classify(err, `delete ${batch.length} keys`, this.url); });
      const failed = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new StorageError('retryable', `delete ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
    }
  }

  async abortStaleUploads(prefix: string, olderThanMs: number): Promise<string[]> {
    const aborted: string[] = [];
    const before = Date.now() - olderThanMs;
    for await (const u of this.multipartUploads(prefix)) {
      if (u.startedMs > before) continue;
      await new S3Multipart(this, u.key, u.uploadId).abort();
      aborted.push(u.key);
    }
    return aborted;
  }

  /** Bytes are not listed: that would take a ListParts request per upload. */
  async pendingUploads(prefix: string): Promise<PendingUpload[]> {
    const pending: PendingUpload[] = [];
    for await (const { key, startedMs } of this.multipartUploads(prefix)) pending.push({ key, startedMs });
    return pending;
  }

  private async *multipartUploads(prefix: string): AsyncGenerator<{ key: string; uploadId: string; startedMs: number }> {
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      const page = await this.client.send(new ListMultipartUploadsCommand({
        Bucket: this.bucket, Prefix: this.prefix + prefix, KeyMarker, UploadIdMarker,
      })).catch((err) => { throw classify(err, `list multipart uploads under ${prefix}`, this.url); });
      for (const u of page.Uploads ?? []) {
        if (u.Key && u.UploadId) yield { key: this.strip(u.Key), uploadId: u.UploadId, startedMs: u.Initiated?.getTime() ?? 0 };
      }
      [KeyMarker, UploadIdMarker] = page.IsTruncated ? [page.NextKeyMarker, page.NextUploadIdMarker] : [undefined, undefined];
    } while (KeyMarker);
  }

  /** @internal for S3Multipart */
  target(key: string) { return { Bucket: this.bucket, Key: this.prefix + key }; }

  private strip(fullKey: string): string { return fullKey.slice(this.prefix.length); }
}

class S3Multipart implements MultipartUpload {
  private readonly parts = new Map<number, CompletedPart & { size: number }>();
  /** Complete requests sent; a later one may find the upload already completed. */
  private completions = 0;

  /** `signal` cuts part writes and the completion; `abort` never carries it (MultipartOptions). */
  constructor(
    private readonly s3: S3Storage, private readonly key: string, private readonly uploadId: string, private readonly signal?: AbortSignal,
  ) {}

  async writePart(n: number, body: Body): Promise<void> {
    const digest = sha256Of(body);
    const out = await this.s3.client.send(new UploadPartCommand({
      ...this.s3.target(this.key), UploadId: this.uploadId, PartNumber: n, ...payload(body, digest),
    }), sendOptions({ signal: this.signal })).catch((err) => { throw classify(err, `part ${n} of ${this.key}`, this.s3.url); });
    this.parts.set(n, {
      PartNumber: n, ETag: out.ETag, ChecksumSHA256: digest.toString('base64'), size: bodyLength(body),
    });
  }

  /**
   * Completes the upload. Idempotent: when an earlier attempt completed it but its response was lost, the
   * retry finds no upload (NoSuchUpload) and the object, of the parts' total size, is the result.
   */
  async complete(): Promise<ObjectInfo> {
    const parts = [...this.parts.values()].sort((a, b) => a.PartNumber! - b.PartNumber!);
    const size = parts.reduce((n, p) => n + p.size, 0);
    let out;
    try {
      out = await this.s3.client.send(new CompleteMultipartUploadCommand({
        ...this.s3.target(this.key), UploadId: this.uploadId,
        MultipartUpload: { Parts: parts.map(({ PartNumber, ETag, ChecksumSHA256 }) => ({ PartNumber, ETag, ChecksumSHA256 })) },
      }), sendOptions({ signal: this.signal }));
    } catch (err) {
      const mapped = classify(err, `complete ${this.key}`, this.s3.url);
      const landed = mapped.kind === 'notFound' && this.completions > 0 ? await this.s3.stat(this.key) : undefined;
      this.completions++;
      if (landed?.size === size) return landed;
      throw mapped;
    }
    // RGW answers Complete with an empty ETag; the object's own is one HEAD away.
    const etag = out.ETag ? unquote(out.ETag) : (await this.s3.stat(this.key))?.etag ?? '';
    return { key: this.key, size, etag };
  }

  async abort(): Promise<void> {
    try {
      await this.s3.client.send(new AbortMultipartUploadCommand({ ...this.s3.target(this.key), UploadId: this.uploadId }));
    } catch (err) {
      const mapped = classify(err, `abort ${this.key}`, this.s3.url);
      if (mapped.kind !== 'notFound') throw mapped;
    }
  }
}

/** The SDK's per-request options: the abort signal, when there is one (it adds two listeners a request). */
function sendOptions(opts: { signal?: AbortSignal } | undefined): { abortSignal?: AbortSignal } {
  return opts?.signal ? { abortSignal: requestSignal(opts.signal) } : {};
}

/** An input field the build middleware turns into the SigV4 payload hash header; never sent as a parameter. */
const PAYLOAD_SHA256 = '__datamoverPayloadSha256';

function payload(body: Body, digest: Buffer) {
  const parts = bodyParts(body);
  return {
    // A list of buffers streams back to back, without being joined into a new buffer first.
    Body: parts.length === 1 ? parts[0] : Readable.from(parts),
    ContentLength: bodyLength(body),
    ChecksumSHA256: digest.toString('base64'),
    [PAYLOAD_SHA256]: digest.toString('hex'),
  };
}

function sha256Of(body: Body, hex?: string): Buffer {
  if (hex) return Buffer.from(hex, 'hex');
  const h = createHash('sha256');
  for (const p of bodyParts(body)) h.update(p);
  return h.digest();
}

function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}

const RETRYABLE_NAMES = new Set([
  'SlowDown', 'RequestTimeout', 'RequestTimeoutException', 'InternalError', 'ServiceUnavailable', 'Throttling',
  'ThrottlingException', 'TimeoutError', 'BadDigest', 'XAmzContentSHA256Mismatch', 'InvalidDigest',
  'ConditionalRequestConflict', 'OperationAborted',
]);
const RETRYABLE_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNABORTED', 'ENOTFOUND']);

/**
 * Maps an SDK or socket error to a StorageError: 404s are notFound, 412 preconditionFailed, throttling,
 * 5xx, checksum mismatches (the bytes were damaged on the way; the retry resends them) and socket resets are
 * retryable; anything else (credentials, a missing bucket, access denied) is permanent.
 */
export function classify(err: unknown, op: string, url: string): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  let kind: StorageErrorKind = 'permanent';
  if (name === 'NoSuchBucket') kind = 'permanent';
  else if (status === 404 || name === 'NoSuchKey' || name === 'NotFound' || name === 'NoSuchUpload') kind = 'notFound';
  else if (status === 412 || name === 'PreconditionFailed') kind = 'preconditionFailed';
  else if (RETRYABLE_NAMES.has(name) || (status !== undefined && (status >= 500 || status === 429 || status === 409))) kind = 'retryable';
  else if (status === undefined && (RETRYABLE_ERRNO.has(e.code ?? '') || /socket hang up|aborted|ECONNRESET|timed? ?out/i.test(e.message ?? ''))) kind = 'retryable';
  const detail = name === 'NoSuchBucket' ? `the bucket of ${url} does not exist` : `${name}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? ''}`;
  return new StorageError(kind, `${url} ${op}: ${detail}`, { cause: err });
}
