/**
 * `fsck`: checks a whole store. Structure (always): every index entry lies inside an existing pack; every
 * bundle's manifest pages exist and match their checksums; every chunk a bundle references is indexed; every
 * label points at an existing bundle; the WAL agrees with bundles and labels; orphan packs are noted. Data (`readData`): every indexed blob that a bundle references is read
 * back and hashed. Problems are values, collected and returned; the caller decides the exit code.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { coalesce, type Piece } from '../download/fetch-plan.js';
import { readPieces } from '../download/read-pieces.js';
import { isDatamoverError } from '../errors.js';
import { listPacks } from '../meta/adopt-packs.js';
import { listBundles } from '../meta/bundles.js';
import { openFormat } from '../meta/format.js';
import { readPage } from '../meta/manifest.js';
import { listLabels } from '../meta/labels.js';
import { listRepos } from '../meta/repos.js';
import { type Storage, isStorageError } from '../storage/storage.js';
import type { BundleDescriptor } from '../vocab.js';
import { checkWal, readWalView } from './fsck-wal.js';
import { loadIndexObjects } from './index-objects.js';
import { findOrphans } from './orphans.js';
import { type IndexRepair, repairIndex } from './repair-index.js';

export interface FsckProblem { what: string; detail: string }
export interface FsckResult {
  repos: number; bundles: number; labels: number; packs: number; blobsChecked: number; problems: FsckProblem[];
  /** Information, not problems: orphan packs, commits that never landed. */
  notes: FsckProblem[];
  orphanPacks: number;
  orphanBytes: number;
  /** What `repairIndex` did, when asked. */
  repair?: IndexRepair;
}

/**
 * The store is read in reverse commit order (writers go packs → indexes → pages → WAL → descriptor → label):
 * labels and WAL first, then descriptors, pages, indexes, packs. Whatever an object read earlier references was
 * written before it, so it is visible when read later: uploads committing meanwhile cause no false problems.
 */
export async function fsck(storage: Storage, opts: { readData?: boolean; concurrency?: number; repairIndex?: boolean } = {}): Promise<FsckResult> {
  await openFormat(storage, false);
  const result: FsckResult = { repos: 0, bundles: 0, labels: 0, packs: 0, blobsChecked: 0, problems: [], notes: [], orphanPacks: 0, orphanBytes: 0 };
  const problem = (what: string, detail: string) => result.problems.push({ what, detail });
  const note = (what: string, detail: string) => result.notes.push({ what, detail });
  if (opts.repairIndex) result.repair = await repairIndex(storage);
  const repos = await listRepos(storage);
  const early = [];
  for (const repo of repos) early.push({ repo, labels: await listLabels(storage, repo.name), wal: await readWalView(storage, repo.name, problem) });
  const referenced = new Map<string, string>(); // blob → a file that uses it
  for (const { repo, labels, wal } of early) {
    result.repos++;
    const bundles = await listBundles(storage, repo.name);
    result.bundles += bundles.length;
    const ids = new Set(bundles.map((b) => b.id));
    await checkWal(storage, wal, ids, labels, problem, note);
    for (const bundle of bundles) await collectChunks(storage, repo.name, bundle, referenced, problem);
    for (const label of labels) {
      result.labels++;
      if (!ids.has(label.bundle)) problem(`${repo.name} label ${label.name}`, `points at ${label.bundle}, which is not a committed bundle`);
    }
  }
  const { index, damaged } = await loadIndexObjects(storage);
  for (const d of damaged) problem(`index object ${d.key}`, `damaged (${d.reason}); fsck --repair-index rebuilds the index from the packs`);
  for (const [hash, user] of referenced) if (!index.has(hash)) problem(user, `chunk ${hash.slice(0, 12)} is in no index`);
  const packSizes = await listPacks(storage);
  result.packs = packSizes.size;
  for (const [blob, loc] of index) {
    const size = packSizes.get(loc.pack);
    if (size === undefined) problem(`pack ${loc.pack.slice(0, 12)}`, `missing (indexed blob ${blob.slice(0, 12)})`);
    else if (loc.offset + loc.length > size) problem(`pack ${loc.pack.slice(0, 12)}`, `truncated: blob ${blob.slice(0, 12)} ends at ${loc.offset + loc.length}, pack has ${size} bytes`);
  }
  const orphans = findOrphans(index, packSizes, note);
  result.orphanPacks = orphans.packs;
  result.orphanBytes = orphans.bytes;
  if (opts.readData) await readBack(storage, index, referenced, packSizes, result, opts.concurrency ?? 4);
  return result;
}

/** Records every chunk of `bundle`'s pages in `referenced` (blob → its first user). */
async function collectChunks(
  storage: Storage, repo: string, bundle: BundleDescriptor, referenced: Map<string, string>, problem: (what: string, detail: string) => void,
): Promise<void> {
  for (const page of bundle.pages) {
    try {
      for (const e of await readPage(storage, page)) {
        for (const [hash] of e.chunks ?? []) if (!referenced.has(hash)) referenced.set(hash, `${repo}/${bundle.id}: ${e.path}`);
      }
    } catch (err) {
      if (!isDatamoverError(err, 'INTEGRITY') && !isStorageError(err, 'notFound')) throw err;
      problem(`${repo}/${bundle.id}`, `manifest page ${page.key}: ${(err as Error).message}`);
    }
  }
}

async function readBack(
  storage: Storage, index: CompactBlobIndex, referenced: Map<string, string>, packSizes: Map<string, number>,
  result: FsckResult, concurrency: number,
): Promise<void> {
  const pieces: Piece<string>[] = [];
  for (const [hash, user] of referenced) {
    const location = index.get(hash)!;
    const size = packSizes.get(location.pack);
    if (size !== undefined && location.offset + location.length <= size) pieces.push({ hash, location, target: user });
  }
  const reads = coalesce(pieces);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < reads.length; i = next++) {
      for (const checked of await readPieces(storage, reads[i]!)) {
        result.blobsChecked++;
        const { hash, target } = checked.piece;
        if (checked.damage !== undefined) result.problems.push({ what: target, detail: `chunk ${hash.slice(0, 12)} ${checked.damage}` });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
