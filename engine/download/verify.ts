/**
 * `bundle verify`: re-reads every chunk a bundle references (or the files a selection keeps reference) from the
 * store (coalesced ranged reads, a few in flight) and checks each against its SHA-256. A chunk is checked once
 * however many files share it.
 */
import { interruptible } from '../cancel.js';
import { integrityError } from '../errors.js';
import { displayName } from '../fs-path.js';
import { type LoadedBlobIndex, loadBlobIndex } from '../meta/blob-index.js';
import { type BundleRef, resolveBundle } from '../meta/refs.js';
import { openFormat } from '../meta/format.js';
import { readEntries } from '../meta/manifest.js';
import { ReadLogEntry } from '../meta/readlog.js';
import { type Reporter, silentReporter } from '../events.js';
import { abortable } from '../storage/abortable.js';
import type { Storage } from '../storage/storage.js';
import type { BlobLocation, BundleDescriptor, Contributor, FileEntry, FormatRecord } from '../vocab.js';
import { type Piece, coalesce } from './fetch-plan.js';
import { readPieces } from './read-pieces.js';
import { type PathSelector, checkEveryIncludeMatches, everything, selectedPages } from './select.js';
import { TaskGroup } from '../runtime/task-group.js';

export interface VerifyRequest {
  storage: Storage; repo: string; ref: BundleRef; contributor: Contributor; concurrency?: number; reporter?: Reporter;
  /** The store's format record when the caller (a Store) has checked it; read here otherwise. */
  format?: FormatRecord;
  /** The blob index when the caller (a Store) holds it; loaded here otherwise. */
  index?: LoadedBlobIndex;
  /** Stops the reads; the call fails with INTERRUPTED (the read log records the read as interrupted). */
  signal?: AbortSignal;
  /**
   * Only the files this keeps (`--include`/`--exclude`); an include matching no entry fails with USAGE naming it
   * before any chunk is read (select.ts checkEveryIncludeMatches).
   */
  select?: PathSelector;
}
export interface VerifyResult { bundle: string; files: number; chunks: number; bytes: number }

const BATCH_BYTES = 64 * 1024 * 1024;

/**
 * Fails with INTEGRITY naming the affected files (up to 10, and how many in all) when a chunk is bad or missing,
 * or the manifest is damaged (naming the page). Damaged index objects are left out (see loadBlobIndex); a chunk
 * then missing names them as the likely cause.
 */
export function verifyBundle(req: VerifyRequest): Promise<VerifyResult> {
  return interruptible(req.signal, async () => {
    const storage = abortable(req.storage, req.signal);
    if (!req.format) await openFormat(storage, false);
    const bundle = await resolveBundle(storage, req.repo, req.ref);
    // The read log is written to the store as given: the end of an interrupted read is not refused after the abort.
    const filter = (req.select ?? everything).describe();
    const read = await ReadLogEntry.begin(req.storage, {
      type: 'bundle.verify', repo: req.repo, bundle: bundle.id, contributor: req.contributor, ...(Object.keys(filter).length ? { filter } : {}),
    }, req.reporter ?? silentReporter);
    const result: VerifyResult = { bundle: bundle.id, files: 0, chunks: 0, bytes: 0 };
    try {
      await verifyChunks({ ...req, storage }, bundle, result);
      await read.end('completed', result);
      return result;
    } catch (err) {
      const got = { files: result.files, bytes: result.bytes };
      if (req.signal?.aborted) await read.end('interrupted', got);
      else await read.end('failed', got, err).catch(() => undefined); // the read's own error is the one to report
      throw err;
    }
  });
}

async function verifyChunks(req: VerifyRequest, bundle: BundleDescriptor, result: VerifyResult): Promise<void> {
  const select = req.select ?? everything;
  const pages = selectedPages(bundle.pages, select);
  const files = () => selectedFiles(req.storage, pages, select);
  await checkEveryIncludeMatches(files(), select, bundle.id);
  const index = req.index ?? await loadBlobIndex(req.storage, { tolerateDamage: true });
  const seen = new Set<string>();
  const bad = new Map<string, string>();
  let batch: Piece<null>[] = [];
  let batchBytes = 0;
  const checks = new TaskGroup(req.concurrency ?? 4);
  const flush = async () => {
    const pieces = batch;
    batch = [];
    batchBytes = 0;
    await checks.start(() => checkPieces(req.storage, pieces, bad, result));
  };
  try {
    for await (const entry of files()) {
      result.files++;
      for (const [hash, length] of entry.chunks ?? []) {
        if (seen.has(hash)) continue;
        seen.add(hash);
        const location: BlobLocation | undefined = index.get(hash);
        if (!location) { bad.set(hash, 'is missing from every index'); continue; }
        batch.push({ hash, location, target: null });
        batchBytes += length;
        if (batchBytes >= BATCH_BYTES) await flush();
      }
    }
    await flush();
  } finally {
    await checks.settle();
  }
  if (bad.size) throw integrityError(`${await describeDamage(files(), bad)}${index.missingHint()}`);
}

/**
 * The files of `pages` that `select` keeps. Directories and links are asked too, so an include naming a
 * directory counts as matching (checkEveryIncludeMatches), but only files are yielded.
 */
async function* selectedFiles(storage: Storage, pages: BundleDescriptor['pages'], select: PathSelector): AsyncGenerator<FileEntry> {
  for await (const entry of readEntries(storage, pages)) if (select.matches(entry.path) && entry.type === 'file') yield entry;
}

async function checkPieces(storage: Storage, pieces: Piece<null>[], bad: Map<string, string>, result: VerifyResult): Promise<void> {
  for (const read of coalesce(pieces)) {
    for (const checked of await readPieces(storage, read)) {
      result.chunks++;
      if (checked.damage === undefined) result.bytes += checked.blob.length;
      else bad.set(checked.piece.hash, checked.damage);
    }
  }
}

async function describeDamage(entries: AsyncIterable<FileEntry>, bad: Map<string, string>): Promise<string> {
  const files: string[] = [];
  for await (const entry of entries) {
    const hit = (entry.chunks ?? []).find(([h]) => bad.has(h));
    if (hit) files.push(`${displayName(entry.path)} (chunk ${hit[0].slice(0, 12)} ${bad.get(hit[0])})`);
  }
  const shown = files.slice(0, 10).join(', ');
  return `${bad.size} damaged chunk(s) affecting ${files.length} file(s): ${shown}${files.length > 10 ? ', ...' : ''}`;
}
