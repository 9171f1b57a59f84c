/**
 * Upload a directory tree as a bundle: scan → plan → hash stage (worker pool) → dedup claim → packer → commit.
 * Stages are joined by bounded hand-offs: the buffer pool (the byte budget) and the hash stage's depth.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { interruptible } from '../cancel.js';
import { type Reporter, silentReporter } from '../events.js';
import { adoptPacks } from '../meta/adopt-packs.js';
import { listPacks, loadBlobIndex } from '../meta/blob-index.js';
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { commitBundle } from '../meta/commit.js';
import { withWriterLease } from '../gc/lease.js';
import { condemnedPacks } from '../gc/records.js';
import { ZSTD_LEVELS, compressionAllowed, openFormat } from '../meta/format.js';
import { newId } from '../meta/ids.js';
import { getBundle } from '../meta/bundles.js';
import { getLabel } from '../meta/labels.js';
import { ManifestWriter } from '../meta/manifest.js';
import { getRepo } from '../meta/repos.js';
import { type ShardRecord, type ShardSpec, openSession, recordShard, shardOf } from '../meta/sessions.js';
import { countTree } from '../scan/count.js';
import { withLinkGroups } from '../scan/hardlinks.js';
import { reportXattrsUnavailable, withXattrs } from '../scan/xattrs.js';
import { type ScanEntry, type ScanSkip, walkTree } from '../scan/walk.js';
import { type SourceSelection, SourceFilter } from '../scan/source-select.js';
import { ParentFiles, withParentFiles } from '../plan/file-cache.js';
import { planJobs } from '../plan/jobs.js';
import { abortable } from '../storage/abortable.js';
import type { Storage } from '../storage/storage.js';
import {
  type BundleDescriptor, type BundleStats, type Contributor, type FormatRecord, type LabelRecord, type ManifestPage,
  type CompressionLevel, type RunInfo, keys,
} from '../vocab.js';
import { BufferPool } from '../runtime/buffer-pool.js';
import { type InputRef, lineageFields } from '../run/inputs.js';
import { HashStage } from './hash-stage.js';
import { ChunkCounter, ChunkStore } from './chunk-store.js';
import { EntryOrder, type SkippedFile } from './entry-order.js';
import { type RemoveSources, type SourceRemoval, removeSources } from './remove-sources.js';
import { type Tuning, resolveTuning } from './tuning.js';
import { type UploadTotals, UploadSession } from './upload-session.js';

/** `files` and `exclude` (SourceSelection): what of `source` is uploaded (everything by default). */
export interface UploadRequest extends SourceSelection {
  storage: Storage;
  repo: string;
  source: string;
  contributor: Contributor;
  message?: string;
  label?: string;
  reporter?: Reporter;
  tuning?: Partial<Tuning>;
  /** Read and hash every file, even those unchanged since the label's bundle (the file cache is not used). */
  rehash?: boolean;
  /** Leave out files that cannot be read and report them (`skipped`), instead of failing with BAD_INPUT. */
  skipOnError?: boolean;
  /**
   * Stops the upload: no more jobs are scheduled, in-flight work settles, the open multipart upload is aborted,
   * nothing is committed; the call fails with INTERRUPTED.
   */
  signal?: AbortSignal;
  /** The store's format record when the caller (a Store) has checked it; read here otherwise. */
  format?: FormatRecord;
  /**
   * The bundles this one is made from (`<repo>@<ref>`), resolved to ids before anything is written and recorded
   * in the descriptor and its WAL record (see run/inputs.ts for the errors of a ref naming nothing).
   */
  inputs?: InputRef[];
  /** The run that makes this bundle, recorded in the descriptor and its WAL record. USAGE on a malformed id. */
  run?: RunInfo;
  /** Once the bundle is committed, remove its files from `source` (see upload/remove-sources.ts). */
  removeSourceFiles?: RemoveSources;
}

export interface UploadResult {
  bundle: BundleDescriptor;
  label?: LabelRecord;
  /** Files left out with `skipOnError`, and why (also recorded as `stats.skippedFiles`). */
  skipped: SkippedFile[];
  /** Thread ids that hashed data: proof the pool did the work. */
  hashThreads: number[];
  /** The most scanned entries held at once waiting for the manifest: proof memory does not grow with the tree. */
  peakPendingEntries: number;
  /** Manifest pages written with the bytes of the parent bundle's page (every entry of it unchanged). */
  pagesReused: number;
  /** With `removeSourceFiles`: what was removed and kept. */
  removal?: SourceRemoval;
}

/**
 * Uploads `source` as a new bundle of `repo`. Returns the committed descriptor.
 * Errors: BAD_INPUT (missing/unreadable source, a file changed while read), NOT_FOUND (repo), FORMAT, STORAGE,
 * INTERRUPTED. On failure no bundle becomes visible; packs that landed are indexed (or, after a kill or an
 * interrupt, found by the rerun from their trailers) so a rerun reuses them.
 */
export function uploadBundle(req: UploadRequest): Promise<UploadResult> {
  return interruptible(req.signal, () => uploadBundleOnce({ ...req, storage: abortable(req.storage, req.signal) }));
}

async function uploadBundleOnce(req: UploadRequest): Promise<UploadResult> {
  const format = req.format ?? await openFormat(req.storage, true);
  const { compression } = await getRepo(req.storage, req.repo);
  const lineage = await lineageFields(req);
  const { parent, parentBundle } = await labelParent(req.storage, req.repo, req.label);
  const bundleId = newId();
  const filter = sourceFilter(req); // a bad --files list fails before the lease: nothing is written
  const uploaded = await withWriterLease(req.storage, 'upload', { repo: req.repo, id: bundleId }, async (lease) => {
    const stored = await storeTree({ ...req, filter, compression }, format, (n) => keys.manifestPage(req.repo, bundleId, n), parentBundle);
    const descriptor: BundleDescriptor = {
      id: bundleId, repo: req.repo, parents: parent ? [parent.bundle] : [], message: req.message ?? '',
      contributor: req.contributor, created: new Date().toISOString(), hash: format.hash, chunker: format.chunker,
      files: stored.totals.files, bytes: stored.totals.bytes, pages: stored.pages, stats: stored.stats, ...lineage,
    };
    const committed = await commitBundle(req.storage, descriptor, req.label, {}, lease);
    const report = req.reporter ?? silentReporter;
    report({ type: 'bundle.committed', repo: req.repo, bundle: bundleId, files: descriptor.files, bytes: descriptor.bytes, newBytes: descriptor.stats.newBytes });
    if (committed.label) report({ type: 'label.set', repo: req.repo, label: committed.label.name, bundle: bundleId });
    return { ...committed, hashThreads: stored.hashThreads, skipped: stored.skipped, peakPendingEntries: stored.peakPendingEntries, pagesReused: stored.pagesReused };
  });
  // After the lease: the bundle is committed, and removing local files needs nothing of the store's.
  const removal = req.removeSourceFiles
    ? await removeSources(req.storage, uploaded.bundle, req.source, req.removeSourceFiles, req.reporter ?? silentReporter, req.signal) : undefined;
  return removal ? { ...uploaded, removal } : uploaded;
}

/** What an upload stored before any commit: durable, indexed packs and the manifest pages naming them. */
export interface StoredTree {
  pages: ManifestPage[];
  totals: UploadTotals;
  stats: BundleStats;
  skipped: SkippedFile[];
  hashThreads: number[];
  peakPendingEntries: number;
  pagesReused: number;
}

/**
 * Uploads the entries of `req.source` that `req.select` keeps (all by default) and writes their manifest pages
 * at `pageKey(n)`; a file unchanged since `parentBundle` is taken from it unread. Commits nothing: a crash or
 * failure leaves only unreferenced objects (packs that landed are indexed, so a rerun reuses them).
 */
export async function storeTree(
  req: UploadRequest & { select?: (path: string) => boolean; dryRun?: boolean; filter?: SourceFilter; compression?: CompressionLevel },
  format: FormatRecord, pageKey: (n: number) => string, parentBundle?: BundleDescriptor,
): Promise<StoredTree> {
  const report = req.reporter ?? silentReporter;
  const started = Date.now();
  const filter = req.filter ?? sourceFilter(req);
  // The repo's compression, in a store whose format allows it; a dry run stores nothing, so compresses nothing.
  const zstdLevel = req.compression && !req.dryRun && compressionAllowed(format) ? ZSTD_LEVELS[req.compression] : 0;
  const tuning = resolveTuning({ ...req.tuning, skipOnError: req.skipOnError, zstdLevel }, format.chunker);
  // The caller holds a writer lease (docs/gc.md): only now may the index and the condemnations be read. A dry
  // run holds none (it would write one): its reads only estimate, and it stores nothing a collector could lose.
  const condemned = await condemnedPacks(req.storage);
  const known = await loadBlobIndex(req.storage, { forWriter: true, condemned });
  if (!req.dryRun) await adoptUnindexedPacks(req.storage, known, condemned, report);
  const hashStage = new HashStage(tuning.workers || undefined);
  const pool = new BufferPool(tuning.chunkSize, tuning.budgetBytes);
  const totals: UploadTotals = { files: 0, bytes: 0, newBytes: 0, dedupBytes: 0, unchangedBytes: 0, packs: 0 };
  const chunks = req.dryRun ? new ChunkCounter(known, totals)
    : new ChunkStore(req.storage, tuning, known, totals, report, Math.max(8, Math.floor(pool.capacity / 4)));
  const parentFiles = parentBundle && !req.rehash ? new ParentFiles(req.storage, parentBundle, known) : undefined;
  const manifest = req.dryRun ? undefined : new ManifestWriter(req.storage, pageKey, tuning.pageSize, () => chunks.barrier());
  if (manifest && parentFiles) manifest.reusing(parentFiles.offerPages());
  const entries = new EntryOrder(manifest ?? { add: async () => undefined }, totals, report);
  const session = new UploadSession(tuning, chunks, entries, hashStage, pool, totals, report);
  // The total for progress and its ETA, counted beside the upload; only for a caller who listens.
  const counted = new AbortController();
  const counting = req.reporter ? countTree(req.source, report, { keep: filter.keep, select: req.select, signal: counted.signal }) : undefined;
  try {
    const skip = (s: ScanSkip) => report({ type: 'scan.skip', ...s });
    const unreadable = req.skipOnError ? (s: ScanSkip) => { entries.skipped.push(s); skip(s); } : undefined;
    const walk = selectEntries(withLinkGroups(walkTree(req.source, skip, unreadable, { keep: filter.keep })), req.select);
    await session.run(planJobs(withXattrs(withParentFiles(walk, parentFiles), report), tuning), req.signal);
    filter.checkAllSeen(path.resolve(req.source));
  } catch (err) {
    await session.abandon();
    throw err;
  } finally {
    counted.abort();
    await counting;
    await hashStage.close();
  }
  const pages = manifest ? await manifest.finish() : [];
  reportXattrsUnavailable(report);
  const stats: BundleStats = {
    newBytes: totals.newBytes, dedupBytes: totals.dedupBytes, unchangedBytes: totals.unchangedBytes, packs: totals.packs,
    ...(entries.skipped.length ? { skippedFiles: entries.skipped.length } : {}),
    ...(totals.storedBytes !== undefined && totals.storedBytes !== totals.newBytes ? { storedBytes: totals.storedBytes } : {}),
    seconds: (Date.now() - started) / 1000,
  };
  return { pages, totals, stats, skipped: entries.skipped, hashThreads: [...session.hashThreads], peakPendingEntries: entries.maxPending, pagesReused: manifest?.reused ?? 0 };
}

/**
 * Packs no index names were left by a run killed before its checkpoint: index them from their trailers, so
 * this run reuses what landed (packs of an upload still running are adopted too, which is harmless). A condemned
 * pack is never adopted: a collector may be about to delete it.
 */
async function adoptUnindexedPacks(storage: Storage, known: CompactBlobIndex, condemned: ReadonlySet<string>, report: Reporter): Promise<void> {
  const packs = [...await listPacks(storage)].filter(([pack]) => !known.hasPack(pack) && !condemned.has(pack));
  if (!packs.length) return;
  const adopted = await adoptPacks(storage, known, packs);
  if (adopted.key) report({ type: 'index.written', key: adopted.key, entries: adopted.blobs });
}

async function* selectEntries(walk: AsyncIterable<ScanEntry>, select?: (path: string) => boolean): AsyncGenerator<ScanEntry> {
  for await (const entry of walk) if (!select || select(entry.path)) yield entry;
}

export interface ShardUploadResult { shard: ShardRecord; skipped: SkippedFile[]; hashThreads: number[] }

/**
 * Uploads shard `shard.index` of `shard.count` of `req.source` into session `session`: the entries whose
 * path hash falls in the shard, recorded as a shard manifest for `commitSession`. Rerunnable: a rerun reuses
 * the packs that landed and replaces the shard's record. Errors as `uploadBundle`, plus those of `openSession`.
 */
export function uploadShard(req: UploadRequest & { session: string; shard: ShardSpec }): Promise<ShardUploadResult> {
  return interruptible(req.signal, () => uploadShardOnce({ ...req, storage: abortable(req.storage, req.signal) }));
}

async function uploadShardOnce(req: UploadRequest & { session: string; shard: ShardSpec }): Promise<ShardUploadResult> {
  const format = req.format ?? await openFormat(req.storage, true);
  const { compression } = await getRepo(req.storage, req.repo);
  const session = await openSession(req.storage, req.repo, req.session);
  const { index, count } = req.shard;
  const attempt = newId();
  const filter = sourceFilter(req); // a bad --files list fails before the lease: nothing is written
  return withWriterLease(req.storage, 'shard', { repo: req.repo, id: session.id }, async (lease) => {
    const stored = await storeTree({ ...req, select: shardSelector(req.shard, req.files), filter, compression }, format, (n) => keys.shardPage(session.id, index, attempt, n));
    // A shard record makes its pages live for a collector; recorded while the lease still holds.
    await lease.assertHeld(`shard ${index} of session ${session.id}`);
    const shard: ShardRecord = {
      session: session.id, index, count, attempt, created: new Date().toISOString(), contributor: req.contributor,
      files: stored.totals.files, bytes: stored.totals.bytes, pages: stored.pages, stats: stored.stats,
    };
    await recordShard(req.storage, shard);
    return { shard, skipped: stored.skipped, hashThreads: stored.hashThreads };
  });
}

/**
 * The label's bundle, the new bundle's parent and the source of files unchanged since it: neither when the label
 * is not given, unset or unreadable (an upload never fails for its parent).
 */
export async function labelParent(
  storage: Storage, repo: string, label: string | undefined,
): Promise<{ parent?: LabelRecord; parentBundle?: BundleDescriptor }> {
  const parent = label ? await getLabel(storage, repo, label).catch(() => undefined) : undefined;
  const parentBundle = parent ? await getBundle(storage, repo, parent.bundle).catch(() => undefined) : undefined;
  return { parent, parentBundle };
}

/**
 * The paths shard `shard` takes: those whose path hash falls in it. A shard given its own list (--files) takes
 * exactly that list (no selector): the lists split the tree, not the path hash.
 */
export function shardSelector(shard: ShardSpec | undefined, files: readonly string[] | undefined): ((path: string) => boolean) | undefined {
  return shard && !files ? (p) => shardOf(p, shard.count) === shard.index : undefined;
}

/** The walk's filter for `req`'s --files and --exclude, its list checked against the source (USAGE naming a bad path). */
function sourceFilter(req: UploadRequest): SourceFilter {
  const filter = new SourceFilter(req);
  if (isDirectory(req.source)) filter.checkListed(path.resolve(req.source)); // else the walk names the problem
  return filter;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
