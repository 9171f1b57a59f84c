/**
 * A file's bytes: `GET`/`HEAD .../raw/<path>`, with a single `Range`, `ETag` (the bundle id and a hash of the
 * path: a bundle never changes), `Last-Modified` (the file's mtime), `Content-Type` by extension. The first
 * piece is read before the headers go out, so a damaged first chunk is a 502 page; a damaged chunk later can
 * only cut the response (the server destroys the connection), never send a wrong byte.
 */
import { createHash } from 'node:crypto';
import { bytesOf } from '../fs-path.js';
import type { BundleReader, ReaderEntry } from '../read/bundle-reader.js';
import type { ServeContext } from './context.js';
import { contentTypeFor } from './content-type.js';
import { type Exchange, HttpError, notFoundHere } from './exchange.js';
import { type RangeAnswer, parseRange } from './range.js';
import type { BundleTarget } from './params.js';
import { pieces, writeOut } from './stream-out.js';
import { baseName, entryAt } from './tree-pages.js';

/** Bytes of a bundle's own content must never run as this origin's page: served sandboxed, no script. */
export const CONTENT_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'";

export async function sendFile(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  const reader = await ctx.openReader(ex, t.repo, t.ref, ex.method === 'GET');
  let sending = false;
  try {
    const entry = await entryAt(reader, t);
    if (entry.type === 'dir') throw notFoundHere(`${t.path || '/'} is a directory (its .tar is under /tar/); file`);
    if (entry.type === 'symlink') throw notFoundHere(`${t.path} is a symlink to ${JSON.stringify(entry.target ?? '')}; file`);
    await answer(ex, reader, entry, () => { sending = true; });
  } finally {
    await closeReader(reader, sending);
  }
}

/** Closes a request's reader: recorded in the read log only when a body was being sent (not HEAD, 304, 416, errors). */
export async function closeReader(reader: BundleReader, sending: boolean): Promise<void> {
  if (sending) await reader.close();
  else reader.abandon();
}

async function answer(ex: Exchange, reader: BundleReader, entry: ReaderEntry, sending: () => void): Promise<void> {
  const { res, req } = ex;
  const etag = etagOf(reader.bundle.id, entry.path);
  const lastModified = new Date(Math.floor(entry.mtimeMs / 1000) * 1000).toUTCString();
  res.setHeader('ETag', etag);
  res.setHeader('Last-Modified', lastModified);
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Content-Security-Policy', CONTENT_POLICY);
  if (matches(req.headers['if-none-match'], etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  const ifRange = req.headers['if-range'];
  const honoursRange = ifRange === undefined || ifRange === etag || ifRange === lastModified;
  const range: RangeAnswer = honoursRange ? parseRange(req.headers.range, entry.size) : { kind: 'whole' };
  if (range.kind === 'unsatisfiable') {
    res.setHeader('Content-Range', `bytes */${entry.size}`);
    throw new HttpError(416, 'RANGE', `bytes ${req.headers.range}: not within the ${entry.size} bytes of ${entry.path}`);
  }
  const [start, length] = range.kind === 'partial' ? [range.start, range.end - range.start + 1] : [0, entry.size];
  res.setHeader('Content-Type', contentTypeFor(baseName(entry.path)));
  res.setHeader('Content-Length', length);
  if (range.kind === 'partial') res.setHeader('Content-Range', `bytes ${start}-${start + length - 1}/${entry.size}`);
  res.statusCode = range.kind === 'partial' ? 206 : 200;
  if (ex.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  sending();
  const out = pieces(reader, entry.path, start, length, ex.signal);
  const first = await out.next(); // before the headers: a damaged first chunk still gets its error page
  if (!first.done) await writeOut(res, first.value, ex.signal);
  for await (const piece of out) await writeOut(res, piece, ex.signal);
  res.end();
}

/** A strong validator: a bundle's files never change, so its id and the path name the bytes. */
export function etagOf(bundle: string, path: string): string {
  return `"${bundle}-${createHash('sha256').update(bytesOf(path)).digest('hex').slice(0, 20)}"`;
}

/** Whether an If-None-Match header names `etag` (or is `*`). */
function matches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.trim() === '*' || header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
