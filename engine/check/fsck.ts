/**
 * `fsck`: checks a whole store and lists every problem it finds — it never stops at the first. Structure
 * (always): format.json is valid; the metadata of every repo (fsck-meta.ts: labels and their WAL chains, WAL
 * records against bundles and labels, descriptors, manifest pages, sessions) is readable and consistent; the WAL's
 * and the read log's hash chains hold (fsck-chain.ts, docs/audit.md); every
 * chunk a bundle references is indexed; every index object is readable and each entry lies inside an existing
 * pack; orphan packs are noted. Data (`readData`): every indexed blob that a bundle references is read back and
 * hashed, and every pack's trailer is checked against the index. Problems and notes are values, collected in the run; the caller decides the exit code. A check is a
 * function of the run: new checks add their problems the same way.
 *
 * The store is read in reverse commit order (writers go packs → indexes → pages → WAL → descriptor → label):
 * labels and WAL first, then descriptors and pages, then index objects, then packs. Whatever an object read
 * earlier references was written before it, so it is visible when read later: uploads committing meanwhile
 * cause no false problems.
 */
import { coalesce, type Piece } from '../download/fetch-plan.js';
import { readPieces } from '../download/read-pieces.js';
import { interruptible, throwIfInterrupted } from '../cancel.js';
import { isDatamoverError } from '../errors.js';
import { listPacks } from '../meta/blob-index.js';
import { LoadedBlobIndex, loadBlobIndex } from '../meta/blob-index.js';
import { openFormat } from '../meta/format.js';
import { abortable } from '../storage/abortable.js';
import { forEachLimited } from '../runtime/concurrency.js';
import { readTrailer } from '../meta/pack-trailer.js';
import type { PendingUpload, Storage } from '../storage/storage.js';
import { checkChains } from './fsck-chain.js';
import { checkRepos, checkSessions } from './fsck-meta.js';
import { findOrphans } from './orphans.js';
import { type IndexRepair, repairIndex } from './repair-index.js';

export interface FsckProblem { what: string; detail: string }
export interface FsckResult {
  repos: number; bundles: number; labels: number; packs: number; blobsChecked: number; problems: FsckProblem[];
  /** Information, not problems: orphan packs, commits that never landed. */
  notes: FsckProblem[];
  orphanPacks: number;
  orphanBytes: number;
  /**
   * Uploads started and not finished (staged local writes, S3 multipart uploads): a running upload's, or what
   * an interrupted one left behind. `bytes` where the backend tells them. Absent when the backend has none.
   */
  pendingUploads?: { count: number; bytes?: number; oldestMs?: number };
  /** What `repairIndex` did, when asked. */
  repair?: IndexRepair;
}

/** What every check shares: the store, the index once loaded (damaged objects left out), the result so far. */
export interface FsckRun {
  storage: Storage;
  index: LoadedBlobIndex;
  packSizes: Map<string, number>;
  result: FsckResult;
  /** Blob → the first file that uses it (`repo/bundle: path`), checked against the index once it is loaded. */
  referenced: Map<string, string>;
  problem(what: string, detail: string): void;
  note(what: string, detail: string): void;
}

/** Checks `storage`; `signal` stops the checks (INTERRUPTED; a repair of the index is left as a rerun finds it). */
export function fsck(
  storage: Storage, opts: { readData?: boolean; concurrency?: number; repairIndex?: boolean; signal?: AbortSignal } = {},
): Promise<FsckResult> {
  return interruptible(opts.signal, async () => {
    const result = await fsckOnce(abortable(storage, opts.signal), opts);
    throwIfInterrupted(opts.signal); // a check cut by the abort may have recorded it as a problem
    return result;
  });
}

async function fsckOnce(storage: Storage, opts: { readData?: boolean; concurrency?: number; repairIndex?: boolean }): Promise<FsckResult> {
  const result: FsckResult = { repos: 0, bundles: 0, labels: 0, packs: 0, blobsChecked: 0, problems: [], notes: [], orphanPacks: 0, orphanBytes: 0 };
  const run: FsckRun = {
    storage, index: new LoadedBlobIndex(), packSizes: new Map(), result, referenced: new Map(),
    problem: (what, detail) => { result.problems.push({ what, detail }); },
    note: (what, detail) => { result.notes.push({ what, detail }); },
  };
  await checkFormat(storage, run.problem);
  if (opts.repairIndex) result.repair = await repairIndex(storage);
  await checkRepos(run);
  await checkSessions(run);
  await checkChains(run);
  run.index = await loadBlobIndex(storage, { tolerateDamage: true });
  for (const d of run.index.damaged) run.problem(`index object ${d.key}`, `damaged, its entries are not used: ${d.problem}; repairing the index rebuilds it from the packs' trailers`);
  for (const [hash, user] of run.referenced) {
    if (!run.index.has(hash)) run.problem(user, `chunk ${hash.slice(0, 12)} is in no index${run.index.missingHint()}`);
  }
  run.packSizes = await listPacks(storage);
  result.packs = run.packSizes.size;
  checkIndexedPacks(run);
  const orphans = findOrphans(run.index, run.packSizes, run.note);
  result.orphanPacks = orphans.packs;
  result.orphanBytes = orphans.bytes;
  if (storage.pendingUploads) result.pendingUploads = summarize(await storage.pendingUploads('blobs/'));
  if (opts.readData) {
    await readBack(run, opts.concurrency ?? 4);
    await checkTrailers(run);
  }
  return result;
}

function summarize(pending: PendingUpload[]): FsckResult['pendingUploads'] {
  const known = pending.filter((p) => p.bytes !== undefined);
  return {
    count: pending.length,
    ...(pending.length && known.length === pending.length ? { bytes: known.reduce((n, p) => n + p.bytes!, 0) } : {}),
    ...(pending.length ? { oldestMs: Math.min(...pending.map((p) => p.startedMs)) } : {}),
  };
}

/** A damaged format.json is listed and the check goes on; a store without one (or of another version) is not checked. */
async function checkFormat(storage: Storage, problem: FsckRun['problem']): Promise<void> {
  try {
    await openFormat(storage, false);
  } catch (err) {
    if (!isDatamoverError(err, 'INTEGRITY')) throw err;
    problem('format.json', err.message);
  }
}

function checkIndexedPacks({ index, packSizes, problem }: FsckRun): void {
  for (const [blob, loc] of index) {
    const size = packSizes.get(loc.pack);
    if (size === undefined) problem(`pack ${loc.pack.slice(0, 12)}`, `missing (indexed blob ${blob.slice(0, 12)})`);
    else if (loc.offset + loc.length > size) problem(`pack ${loc.pack.slice(0, 12)}`, `truncated: blob ${blob.slice(0, 12)} ends at ${loc.offset + loc.length}, pack has ${size} bytes`);
  }
}

/**
 * Every pack's trailer (what `--repair-index` rebuilds the index from) must be sound and agree with the index:
 * a blob both list is at the same offset and length. A pack written before trailers is not a problem.
 */
async function checkTrailers({ storage, index, packSizes, problem }: FsckRun): Promise<void> {
  for (const [pack, size] of packSizes) {
    const trailer = await readTrailer(storage, pack, size);
    if (trailer.kind === 'damaged') problem(`pack ${pack.slice(0, 12)}`, `${trailer.reason}: the pack cannot be re-indexed from itself`);
    if (trailer.kind !== 'listed') continue;
    for (const entry of trailer.entries) {
      const loc = index.get(entry.blob);
      if (loc?.pack === pack && (loc.offset !== entry.offset || loc.length !== entry.length || loc.codec !== entry.codec)) {
        problem(`pack ${pack.slice(0, 12)}`, `trailer lists blob ${entry.blob.slice(0, 12)} at ${entry.offset}+${entry.length} (${entry.codec ?? 'raw'}), the index at ${loc.offset}+${loc.length} (${loc.codec ?? 'raw'})`);
      }
    }
  }
}

async function readBack(run: FsckRun, concurrency: number): Promise<void> {
  const { storage, index, packSizes, referenced, result } = run;
  const pieces: Piece<string>[] = [];
  for (const [hash, user] of referenced) {
    const location = index.get(hash);
    if (!location) continue;
    const size = packSizes.get(location.pack);
    if (size !== undefined && location.offset + location.length <= size) pieces.push({ hash, location, target: user });
  }
  await forEachLimited(coalesce(pieces), concurrency, async (read) => {
    for (const checked of await readPieces(storage, read)) {
      result.blobsChecked++;
      const { hash, target } = checked.piece;
      if (checked.damage !== undefined) run.problem(target, `chunk ${hash.slice(0, 12)} ${checked.damage}`);
    }
  });
}
