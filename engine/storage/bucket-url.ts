/** `s3://bucket/prefix` and `gs://bucket/prefix`, parsed once for the opener and the backends alike. */
export interface BucketUrl {
  bucket: string;
  /** '' or ending in '/'. */
  prefix: string;
  /** The canonical form: `<scheme>://<bucket>/<prefix>`. */
  url: string;
}

/** Undefined when `url` is not `<scheme>://bucket[/prefix]`. */
export function parseBucketUrl(url: string, scheme: 's3' | 'gs'): BucketUrl | undefined {
  const m = new RegExp(`^${scheme}://([^/]+)/?(.*)$`).exec(url);
  if (!m) return undefined;
  const prefix = m[2] ? m[2].replace(/\/*$/, '/') : '';
  return { bucket: m[1]!, prefix, url: `${scheme}://${m[1]}/${prefix}` };
}
