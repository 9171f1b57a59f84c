/** `s3://bucket/prefix` and `gs://bucket/prefix`, parsed once for the opener and the backends alike. */
import { usageError } from '../errors.js';

export interface BucketUrl {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  /** The canonical form: `<scheme>://<bucket>/<prefix>`. */
  url: string;
}

/**
 * Undefined when `url` is not `<scheme>://bucket[/prefix]`. Fails with USAGE naming the URL when the bucket is not
 * a bucket name or the prefix has an empty, `.` or `..` segment: object keys are taken literally by the servers,
 * so `a/../b` would not mean `b` but put `..` into every key.
 */
export function parseBucketUrl(url: string, scheme: 's3' | 'gs'): BucketUrl | undefined {
  const m = new RegExp(`^${scheme}://([^/]+)/?(.*)$`).exec(url);
  if (!m) return undefined;
  const bucket = m[1]!;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$/.test(bucket) || bucket.includes('..')) {
    throw usageError(`${url}: ${JSON.stringify(bucket)} is not a bucket name`);
  }
  const trimmed = m[2]!.replace(/\/+$/, '');
  if (trimmed && trimmed.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw usageError(`${url}: the prefix may not have empty, "." or ".." segments`);
  }
  const prefix = trimmed ? `${trimmed}/` : '';
  return { bucket, prefix, url: `${scheme}://${bucket}/${prefix}` };
}
