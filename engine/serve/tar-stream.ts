/**
 * A directory (or a whole bundle) as a streamed `.tar`: `GET .../tar/<dir>`. Entries go depth first in name
 * order under one top directory named after the directory (the bundle id for the root); file bytes come from
 * the reader, hash-checked. Its length is not known ahead, so it goes out chunked: a damaged chunk met after the
 * first bytes went out destroys the connection, and the client sees a truncated transfer, never a wrong byte.
 */
import type { BundleReader, ReaderEntry } from '../read/bundle-reader.js';
import type { ServeContext } from './context.js';
import type { Exchange } from './exchange.js';
import { closeReader } from './files.js';
import type { BundleTarget } from './params.js';
import { pieces, writeOut } from './stream-out.js';
import { TAR_END, padding, tarHeader } from './tar.js';
import { baseName, entryAt } from './tree-pages.js';
import { encodeName } from './url-path.js';

export async function sendTar(ctx: ServeContext, ex: Exchange, t: BundleTarget): Promise<void> {
  const reader = await ctx.openReader(ex, t.repo, t.ref, ex.method === 'GET');
  let sending = false;
  try {
    const top = await entryAt(reader, t);
    const name = t.path ? baseName(t.path) : reader.bundle.id;
    ex.res.statusCode = 200;
    ex.res.setHeader('Content-Type', 'application/x-tar');
    ex.res.setHeader('Content-Disposition', `attachment; filename="${asciiName(name)}.tar"; filename*=UTF-8''${encodeName(name)}.tar`);
    if (ex.method === 'HEAD') {
      ex.res.end();
      return;
    }
    sending = true;
    await writeEntry(reader, ex, top, name);
    await writeOut(ex.res, TAR_END, ex.signal);
    ex.res.end();
  } finally {
    await closeReader(reader, sending);
  }
}

/** Writes `entry` as `as` in the archive, and a directory's subtree after it. */
async function writeEntry(reader: BundleReader, ex: Exchange, entry: ReaderEntry, as: string): Promise<void> {
  await writeOut(ex.res, tarHeader({ ...entry, path: as }), ex.signal);
  if (entry.type === 'file') {
    for await (const piece of pieces(reader, entry.path, 0, entry.size, ex.signal)) await writeOut(ex.res, piece, ex.signal);
    const pad = padding(entry.size);
    if (pad.length) await writeOut(ex.res, pad, ex.signal);
  } else if (entry.type === 'dir') {
    for await (const child of reader.list(entry.path)) await writeEntry(reader, ex, child, `${as}/${baseName(child.path)}`);
  }
}

/** A name for the plain `filename` parameter: ASCII only, no quote or backslash (filename* carries the real one). */
function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\]/g, '_');
}
