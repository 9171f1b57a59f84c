/**
 * A GCS resumable upload session as a MultipartUpload: parts are appended to the object in order of their
 * number while the pack fills, each request a multiple of 256 KiB (the unaligned tail is copied and carried into
 * the next request), and the last request carries `X-Goog-Hash: crc32c=...` so the server refuses an object
 * whose bytes differ from what was hashed here. The session URI is its own credential (no auth header).
 * A failed request is retried under the store's retry policy (retry.ts: `--retries`, `--retry-deadline`), each
 * retry resynchronised with a status query (`Content-Range: bytes *\/*`) and resent from the offset the server
 * confirms, so a retry never duplicates or skips bytes. A request idle for `idleTimeoutMs` (`--timeout`) is cut
 * and retried. What fails after those retries fails the session for good (permanent), so that the retry
 * decorator around the store does not start the retries over.
 */
import http from 'node:http';
import https from 'node:https';
import { createCRC32, type IHasher } from 'hash-wasm';
import { type RetryPolicy, defaultRetryPolicy, withRetries } from './retry.js';
import { type Body, type MultipartUpload, type ObjectInfo, StorageError, bodyParts, isStorageError, requestSignal } from './storage.js';

export const resumableChunk = 256 * 1024;
export const CRC32C_POLYNOMIAL = 0x82f63b78;

/** CRC32C (hash-wasm, ~1.8 GiB/s) of a body, as GCS writes it: base64 of the big-endian value. */
export async function crc32cOf(body: Body): Promise<string> {
  const h = await createCRC32(CRC32C_POLYNOMIAL);
  h.init();
  for (const p of bodyParts(body)) h.update(p);
  return crc32cBase64(h);
}

export function crc32cBase64(h: IHasher): string {
  return Buffer.from(h.digest('hex'), 'hex').toString('base64');
}

export interface SessionOptions {
  retry: RetryPolicy;
  /** A request idle this long (no byte sent or received) is cut and retried. */
  idleTimeoutMs: number;
  /** Cuts the session's PUTs and ends their retrying (MultipartOptions); the DELETE of `abort` never carries it. */
  signal?: AbortSignal;
}

export const defaultSessionOptions: SessionOptions = { retry: defaultRetryPolicy, idleTimeoutMs: 60_000 };

const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 64 }),
  https: new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

type Classify = (err: unknown, op: string) => StorageError;
interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

export class ResumableSession implements MultipartUpload {
  /** Bytes the server has persisted. */
  private offset = 0;
  private tail: Uint8Array = new Uint8Array(0);
  private nextPart = 1;
  private readonly turnWaiters = new Map<number, () => void>();
  private failed: StorageError | undefined;
  private result: ObjectInfo | undefined;

  constructor(
    private readonly key: string, private readonly uri: string, private readonly crc: IHasher,
    private readonly classify: Classify, private readonly opts: SessionOptions = defaultSessionOptions,
  ) {
    crc.init();
  }

  async writePart(n: number, body: Body): Promise<void> {
    if (n < this.nextPart) return; // already appended: idempotent per n
    if (n > this.nextPart) await new Promise<void>((resolve) => this.turnWaiters.set(n, resolve));
    try {
      if (this.failed) throw this.failed;
      const parts = [this.tail, ...bodyParts(body)];
      for (const p of bodyParts(body)) this.crc.update(p);
      const length = parts.reduce((sum, p) => sum + p.byteLength, 0);
      const aligned = length - (length % resumableChunk);
      const start = this.offset;
      if (aligned > 0) await this.send(parts, start, start + aligned, '*');
      this.tail = Buffer.from(Buffer.concat(sliceParts(parts, aligned, length)));
      this.offset = start + aligned;
      this.nextPart = n + 1;
    } catch (err) {
      throw this.fail(err);
    } finally {
      this.turnWaiters.get(n + 1)?.();
      this.turnWaiters.delete(n + 1);
    }
  }

  async complete(): Promise<ObjectInfo> {
    if (this.result) return this.result;
    if (this.failed) throw this.failed;
    const total = this.offset + this.tail.byteLength;
    try {
      const reply = await this.send([this.tail], this.offset, total, String(total), `crc32c=${crc32cBase64(this.crc)}`);
      const md = parseObject(reply.body, `upload ${this.key}`);
      this.result = { key: this.key, size: Number(md.size ?? total), etag: String(md.generation ?? '') };
      return this.result;
    } catch (err) {
      throw this.fail(err);
    }
  }

  async abort(): Promise<void> {
    this.failed ??= new StorageError('permanent', `resumable upload of ${this.key} was aborted`);
    // GCS answers a cancelled session with 499; an unknown or finished one with 404/410. All mean "gone".
    await request('DELETE', this.uri, { 'Content-Length': '0' }, [], this.opts.idleTimeoutMs).catch(() => undefined);
  }

  /** Fails the session for good with `err` (as a permanent StorageError); returns what to throw. */
  private fail(err: unknown): StorageError {
    this.failed ??= isStorageError(err, 'permanent') ? err : new StorageError('permanent', (err as Error).message, { cause: err });
    return this.failed;
  }

  /**
   * Sends bytes [from, to) of the session (`parts` start at `this.offset`) under the retry policy, each retry
   * resent from where the server says it is. `total` is `*` until the last request. Returns the final reply.
   */
  private send(parts: readonly Uint8Array[], from: number, to: number, total: string, hash?: string): Promise<Reply> {
    const base = this.offset;
    const op = `upload ${this.key}`;
    let sent = from;
    return withRetries(this.opts.retry, op, async (attempt) => {
      try {
        if (attempt > 1) {
          // The failed request may have landed in part or whole (only its answer lost).
          const status = await this.queryStatus();
          if (status.done) return status.done;
          sent = Math.min(Math.max(status.persisted, from), to);
        }
        const headers: Record<string, string> = {
          'Content-Length': String(to - sent),
          'Content-Range': to > sent ? `bytes ${sent}-${to - 1}/${total}` : `bytes */${total}`,
        };
        if (hash) headers['X-Goog-Hash'] = hash;
        const reply = await request('PUT', this.uri, headers, sliceParts(parts, sent - base, to - base), this.opts.idleTimeoutMs, this.opts.signal);
        if (total === '*' && reply.status === 308) return reply;
        if (total !== '*' && (reply.status === 200 || reply.status === 201)) return reply;
        throw httpError(reply, `${op} bytes ${sent}-${to}`);
      } catch (err) {
        throw this.classify(err, op);
      }
    }, undefined, this.opts.signal);
  }

  /** Asks the server how many bytes it holds; a finished session answers with the object. */
  private async queryStatus(): Promise<{ persisted: number; done?: Reply }> {
    const reply = await request('PUT', this.uri, { 'Content-Length': '0', 'Content-Range': 'bytes */*' }, [], this.opts.idleTimeoutMs, this.opts.signal);
    if (reply.status === 200 || reply.status === 201) return { persisted: Infinity, done: reply };
    if (reply.status !== 308) throw httpError(reply, `status of ${this.key}`);
    const range = /bytes=0-(\d+)/.exec(String(reply.headers.range ?? ''));
    return { persisted: range ? Number(range[1]) + 1 : 0 };
  }
}

/** The bytes [from, to) of a list of buffers laid end to end, as views (no copy). */
export function sliceParts(parts: readonly Uint8Array[], from: number, to: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of parts) {
    const lo = Math.max(from - at, 0);
    const hi = Math.min(to - at, p.byteLength);
    if (hi > lo) out.push(p.subarray(lo, hi));
    at += p.byteLength;
    if (at >= to) break;
  }
  return out;
}

/** An unexpected answer, for `classify` (by its status): it never leaves the session unclassified. */
function httpError(reply: Reply, op: string): Error & { code: number } {
  return Object.assign(new Error(`${op}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`), { code: reply.status });
}

/** The object metadata a finished session answers with; a permanent StorageError when it is not JSON. */
function parseObject(body: string, op: string): { size?: string; generation?: string } {
  try {
    return JSON.parse(body) as { size?: string; generation?: string };
  } catch {
    throw new StorageError('permanent', `${op}: the server's answer is not JSON: ${body.slice(0, 200)}`);
  }
}

/**
 * One HTTP request; cut (ETIMEDOUT, which `classify` calls retryable) when idle for `idleTimeoutMs`, and
 * (AbortError) when `signal` is aborted.
 */
function request(
  method: string, uri: string, headers: Record<string, string>, body: readonly Uint8Array[], idleTimeoutMs: number,
  signal?: AbortSignal,
): Promise<Reply> {
  const url = new URL(uri);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const agent = url.protocol === 'https:' ? agents.https : agents.http;
    const req = lib.request(url, { method, headers, agent, ...(signal ? { signal: requestSignal(signal) } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(idleTimeoutMs, () => {
      req.destroy(Object.assign(new Error(`${method} timed out (idle ${idleTimeoutMs} ms)`), { code: 'ETIMEDOUT' }));
    });
    req.on('error', reject);
    for (const part of body) req.write(part);
    req.end();
  });
}
