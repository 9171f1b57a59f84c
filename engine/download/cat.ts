/**
 * `bundle cat`: one file of a bundle as a stream of its bytes, in order. Every chunk is read from its pack and
 * checked against its hash before any of its bytes is handed out, so a consumer never receives unverified
 * data: a damaged chunk ends the stream with INTEGRITY naming the file, after the verified chunks before it.
 * Sequential, with a few chunks read ahead; memory is bounded by those chunks, whatever the file's size.
 */
import { DatamoverError, integrityError, notFound, usageError } from '../errors.js';
import { type Reporter, silentReporter } from '../events.js';
import { displayName } from '../fs-path.js';
import type { LoadedBlobIndex } from '../meta/blob-index.js';
import { pageBounds, readPage } from '../meta/manifest.js';
import { ReadLogEntry } from '../meta/readlog.js';
import type { Storage } from '../storage/storage.js';
import type { BundleDescriptor, ChunkRef, Contributor, FileEntry } from '../vocab.js';
import { readPieces } from './read-pieces.js';
import { pathSetSelector } from './select.js';
import { isHoleChunk } from './zero-chunks.js';

/** Chunks read ahead of the one being handed out. */
const READ_AHEAD = 4;

export interface CatRequest {
  storage: Storage; repo: string; bundle: BundleDescriptor; path: string; index: LoadedBlobIndex;
  contributor: Contributor; reporter?: Reporter;
}

/** The file's entry, and its bytes chunk by chunk (each verified). */
export interface CatFile { entry: FileEntry; bytes: AsyncIterable<Uint8Array> }

/**
 * Finds `path` in the bundle (reading only the manifest pages that may hold it) and returns its bytes as an
 * iterable. NOT_FOUND when the bundle has no such path; USAGE for a directory or symlink. Iterating fails
 * with INTEGRITY naming the file at the first chunk that is missing or damaged. The read is logged as
 * `bundle.cat` once iterated to the end, or as interrupted when the consumer stops early.
 */
export async function catFile(req: CatRequest): Promise<CatFile> {
  const want = req.path.split('/').filter((c) => c && c !== '.').join('/');
  const entry = await findEntry(req.storage, req.bundle, want);
  if (!entry) throw notFound(`${displayName(want)} is not in bundle ${req.bundle.id}`);
  if (entry.type === 'dir') throw usageError(`${displayName(want)} is a directory in bundle ${req.bundle.id}`);
  if (entry.type === 'symlink') throw usageError(`${displayName(want)} is a symlink (to ${displayName(entry.target ?? '')}) in bundle ${req.bundle.id}`);
  return { entry, bytes: verifiedBytes(req, entry) };
}

async function findEntry(storage: Storage, bundle: BundleDescriptor, path: string): Promise<FileEntry | undefined> {
  const select = pathSetSelector(new Set([path]), '');
  for (let n = 0; n < bundle.pages.length; n++) {
    const { after, before } = pageBounds(bundle.pages, n);
    if (!select.rangeMayMatch(after, before)) continue;
    const found = (await readPage(storage, bundle.pages[n]!)).find((e) => e.path === path);
    if (found) return found;
  }
  return undefined;
}

async function* verifiedBytes(req: CatRequest, entry: FileEntry): AsyncGenerator<Uint8Array> {
  const chunks = entry.chunks ?? [];
  const ahead: Promise<Uint8Array>[] = [];
  let next = 0;
  let bytes = 0;
  let outcome: 'done' | 'stopped' | 'failed' = 'stopped';
  let failure: unknown;
  const read = await ReadLogEntry.begin(req.storage, {
    type: 'bundle.cat', repo: req.repo, bundle: req.bundle.id, contributor: req.contributor, filter: { note: entry.path },
  }, req.reporter ?? silentReporter);
  try {
    for (let i = 0; i < chunks.length; i++) {
      while (ahead.length < READ_AHEAD && next < chunks.length) {
        const read = readChunk(req, entry, chunks[next++]!);
        read.catch(() => undefined); // awaited in turn below; a consumer that stops early leaves it unobserved
        ahead.push(read);
      }
      const data = await ahead.shift()!;
      bytes += data.length;
      yield data;
    }
    outcome = 'done';
  } catch (err) {
    outcome = 'failed';
    failure = err;
    throw err;
  } finally {
    const ended = { done: 'completed', stopped: 'interrupted', failed: 'failed' } as const;
    await read.end(ended[outcome], { files: outcome === 'done' ? 1 : 0, bytes }, failure).catch(() => undefined);
  }
}

/** The verified bytes of one chunk: zeros for an all-zero chunk (known by its hash), else read and checked. */
async function readChunk(req: CatRequest, entry: FileEntry, [hash, length]: ChunkRef): Promise<Uint8Array> {
  if (isHoleChunk(hash, length)) return new Uint8Array(length);
  const damaged = (why: string) => integrityError(`${displayName(entry.path)}: chunk ${hash.slice(0, 12)} ${why}${req.index.missingHint()}`);
  const location = req.index.get(hash);
  if (!location) throw damaged('is missing from every index');
  const [checked] = await readPieces(req.storage, { ...location, pieces: [{ hash, location, target: null }] });
  if (!checked || checked.damage !== undefined) throw damaged(checked?.damage ?? 'was not read');
  if (checked.blob.length !== length) throw new DatamoverError('INTEGRITY', `${displayName(entry.path)}: chunk ${hash.slice(0, 12)} has ${checked.blob.length} bytes, the manifest says ${length}`);
  return checked.blob;
}
