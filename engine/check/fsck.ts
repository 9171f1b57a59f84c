/**
 * `fsck`: checks a whole store. Structure (always): every index entry lies inside an existing pack; every
 * bundle's manifest pages exist and match their checksums; every chunk a bundle references is indexed; every
 * label points at an existing bundle. Data (`readData`): every indexed blob that a bundle references is read
 * back and hashed. Problems are values, collected and returned; the caller decides the exit code.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { coalesce, type Piece } from '../download/fetch-plan.js';
import { readPieces } from '../download/read-pieces.js';
import { isDatamoverError } from '../errors.js';
import { loadBlobIndex } from '../meta/blob-index.js';
import { listBundles } from '../meta/bundles.js';
import { openFormat } from '../meta/format.js';
import { readPage } from '../meta/manifest.js';
import { listLabels } from '../meta/labels.js';
import { listRepos } from '../meta/repos.js';
import { type Storage, isStorageError } from '../storage/storage.js';

export interface FsckProblem { what: string; detail: string }
export interface FsckResult { repos: number; bundles: number; labels: number; packs: number; blobsChecked: number; problems: FsckProblem[] }

export async function fsck(storage: Storage, opts: { readData?: boolean; concurrency?: number } = {}): Promise<FsckResult> {
  await openFormat(storage, false);
  const index = await loadBlobIndex(storage);
  const result: FsckResult = { repos: 0, bundles: 0, labels: 0, packs: 0, blobsChecked: 0, problems: [] };
  const problem = (what: string, detail: string) => result.problems.push({ what, detail });
  const packSizes = await listPackSizes(storage);
  result.packs = packSizes.size;
  for (const [blob, loc] of index) {
    const size = packSizes.get(loc.pack);
    if (size === undefined) problem(`pack ${loc.pack.slice(0, 12)}`, `missing (indexed blob ${blob.slice(0, 12)})`);
    else if (loc.offset + loc.length > size) problem(`pack ${loc.pack.slice(0, 12)}`, `truncated: blob ${blob.slice(0, 12)} ends at ${loc.offset + loc.length}, pack has ${size} bytes`);
  }
  const referenced = new Map<string, string>(); // blob → a file that uses it
  for (const repo of await listRepos(storage)) {
    result.repos++;
    const bundles = await listBundles(storage, repo.name);
    result.bundles += bundles.length;
    const ids = new Set(bundles.map((b) => b.id));
    for (const bundle of bundles) {
      for (const page of bundle.pages) {
        try {
          for (const e of await readPage(storage, page)) {
            for (const [hash] of e.chunks ?? []) {
              if (!index.has(hash)) problem(`${repo.name}/${bundle.id}: ${e.path}`, `chunk ${hash.slice(0, 12)} is in no index`);
              else if (!referenced.has(hash)) referenced.set(hash, `${repo.name}/${bundle.id}: ${e.path}`);
            }
          }
        } catch (err) {
          if (!isDatamoverError(err, 'INTEGRITY') && !isStorageError(err, 'notFound')) throw err;
          problem(`${repo.name}/${bundle.id}`, `manifest page ${page.key}: ${(err as Error).message}`);
        }
      }
    }
    for (const label of await listLabels(storage, repo.name)) {
      result.labels++;
      if (!ids.has(label.bundle)) problem(`${repo.name} label ${label.name}`, `points at ${label.bundle}, which is not a committed bundle`);
    }
  }
  if (opts.readData) await readBack(storage, index, referenced, packSizes, result, opts.concurrency ?? 4);
  return result;
}

async function listPackSizes(storage: Storage): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const e of storage.list('blobs/packs/')) sizes.set(e.key.slice(e.key.lastIndexOf('/') + 1), e.size ?? 0);
  return sizes;
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
