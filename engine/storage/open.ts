import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../errors.js';
import { parseBucketUrl } from './bucket-url.js';
import { gcsCapabilities, gcsOptional, s3Capabilities, s3Optional } from './capabilities.js';
import { LazyStorage } from './lazy.js';
import { LocalStorage } from './local.js';
import { MemoryStorage } from './memory.js';
import { type RetryPolicy, RetryingStorage, defaultRetryPolicy } from './retry.js';
import type { Storage } from './storage.js';

/** `$DATAMOVER_HOME/store`, the embedded default store (DESIGN §9). */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.DATAMOVER_HOME || path.join(os.homedir(), '.datamover');
  return path.join(home, 'store');
}

export interface OpenOptions {
  /** S3 endpoint; defaults to `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`. */
  endpoint?: string;
  retry?: Partial<RetryPolicy>;
  /** A connection idle this long (also mid-body) is cut and the request retried. */
  idleTimeoutMs?: number;
}

/**
 * Opens the store at `url`: a plain path, `file:///abs/path`, `s3://bucket/prefix`, `gs://bucket/prefix`, or
 * `memory://` (process-local). Fails with USAGE for other schemes. The result retries transient failures.
 */
export function openStorage(url: string, opts: OpenOptions = {}): Storage {
  const retry = { ...defaultRetryPolicy, ...opts.retry };
  return new RetryingStorage(openBackend(url, opts, retry), retry);
}

/** The directory of a local store URL (a plain path or file://), undefined for a remote one. */
export function localRoot(url: string): string | undefined {
  if (url.startsWith('file://')) return fileURLToPath(url);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? undefined : path.resolve(url);
}

function openBackend(url: string, opts: OpenOptions, retry: RetryPolicy): Storage {
  if (url.startsWith('file://')) return new LocalStorage(fileURLToPath(url));
  if (url === 'memory://') return new MemoryStorage();
  if (url.startsWith('s3://')) {
    const parsed = parseBucketUrl(url, 's3');
    if (!parsed) throw new InputError('store', url, 'expected s3://bucket[/prefix]');
    const endpoint = opts.endpoint || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
    if (endpoint && !/^https?:\/\/[^/]+/.test(endpoint)) throw new InputError('endpoint', endpoint, 'expected http(s)://host[:port]');
    return new LazyStorage(parsed.url, s3Capabilities, s3Optional, async () => new (await import('./s3.js')).S3Storage(url, { endpoint, idleTimeoutMs: opts.idleTimeoutMs }));
  }
  if (url.startsWith('gs://')) {
    const parsed = parseBucketUrl(url, 'gs');
    if (!parsed) throw new InputError('store', url, 'expected gs://bucket[/prefix]');
    return new LazyStorage(parsed.url, gcsCapabilities, gcsOptional, async () => new (await import('./gcs.js')).GcsStorage(url, { retry, idleTimeoutMs: opts.idleTimeoutMs }));
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme) throw new InputError('store', url, `the ${scheme}:// scheme is not supported (use a path, file://, s3:// or gs://)`);
  return new LocalStorage(url);
}
