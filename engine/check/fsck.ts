/**
 * `fsck`: checks a whole store and lists every problem it finds — it never stops at the first. Structure
 * (always): format.json is valid; every index object is readable and each entry lies inside an existing pack;
 * the metadata of every repo (fsck-meta.ts: descriptors, manifest pages, labels and their WAL chains, WAL
 * records, sessions) is readable and consistent; every chunk a bundle references is indexed. Data
 * (`readData`): every indexed blob that a bundle references is read back and hashed. Problems are values,
 * collected in `FsckRun.problems`; the caller decides the exit code. A check is a function of the run: new
 * checks add their problems the same way.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { coalesce, type Piece } from '../download/fetch-plan.js';
import { readPieces } from '../download/read-pieces.js';
import { isDatamoverError } from '../errors.js';
import { type LoadedBlobIndex, loadBlobIndex } from '../meta/blob-index.js';
import { openFormat } from '../meta/format.js';
import type { Storage } from '../storage/storage.js';
import { checkRepos, checkSessions } from './fsck-meta.js';

export interface FsckProblem { what: string; detail: string }
export interface FsckResult { repos: number; bundles: number; labels: number; packs: number; blobsChecked: number; problems: FsckProblem[] }

/** What every check shares: the store, the index as loaded (damaged objects left out), the result so far. */
export interface FsckRun {
  storage: Storage;
  index: LoadedBlobIndex;
  packSizes: Map<string, number>;
  result: FsckResult;
  /** Blob → a file that uses it (`repo/bundle: path`), for the read-back. */
  referenced: Map<string, string>;
  problem(what: string, detail: string): void;
}

export async function fsck(storage: Storage, opts: { readData?: boolean; concurrency?: number } = {}): Promise<FsckResult> {
  const result: FsckResult = { repos: 0, bundles: 0, labels: 0, packs: 0, blobsChecked: 0, problems: [] };
  const problem = (what: string, detail: string) => { result.problems.push({ what, detail }); };
  await checkFormat(storage, problem);
  const index = await loadBlobIndex(storage, { tolerateDamage: true });
  for (const d of index.damaged) problem(`index ${d.key}`, `damaged, its entries are not used: ${d.problem}`);
  const packSizes = await listPackSizes(storage);
  result.packs = packSizes.size;
  const run: FsckRun = { storage, index, packSizes, result, referenced: new Map(), problem };
  checkIndexedPacks(run);
  await checkRepos(run);
  await checkSessions(run);
  if (opts.readData) await readBack(run, opts.concurrency ?? 4);
  return result;
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

async function listPackSizes(storage: Storage): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  for await (const e of storage.list('blobs/packs/')) sizes.set(e.key.slice(e.key.lastIndexOf('/') + 1), e.size ?? 0);
  return sizes;
}

async function readBack(run: FsckRun, concurrency: number): Promise<void> {
  const { storage, index, packSizes, referenced, result } = run;
  const pieces: Piece<string>[] = [];
  for (const [hash, user] of referenced) {
    const location = (index as CompactBlobIndex).get(hash)!;
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
        if (checked.damage !== undefined) run.problem(target, `chunk ${hash.slice(0, 12)} ${checked.damage}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}
