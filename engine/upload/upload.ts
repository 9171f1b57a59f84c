/**
 * Upload a directory tree as a bundle: scan → plan → hash stage (worker pool) → dedup claim → packer → commit.
 * Stages are joined by bounded hand-offs: the buffer pool (the byte budget) and the hash stage's depth.
 */
import { interruptible } from '../cancel.js';
import { type Reporter, silentReporter } from '../events.js';
import { adoptPacks, listPacks } from '../meta/adopt-packs.js';
import { loadBlobIndex } from '../meta/blob-index.js';
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { commitBundle } from '../meta/commit.js';
import { openFormat } from '../meta/format.js';
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
import { ParentFiles } from '../plan/file-cache.js';
import { planJobs } from '../plan/jobs.js';
import { abortable } from '../storage/abortable.js';
import type { Storage } from '../storage/storage.js';
import {
  type BundleDescriptor, type BundleStats, type Contributor, type FormatRecord, type LabelRecord, type ManifestPage, keys,
} from '../vocab.js';
import { BufferPool } from '../runtime/buffer-pool.js';
import { HashStage } from './hash-stage.js';
import { ChunkStore } from './chunk-store.js';
import { EntryOrder, type SkippedFile } from './entry-order.js';
import { type Tuning, resolveTuning } from './tuning.js';
import { type UploadTotals, UploadSession } from './upload-session.js';

export interface UploadRequest {
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
  await getRepo(req.storage, req.repo);
  const parent = req.label ? await getLabel(req.storage, req.repo, req.label).catch(() => undefined) : undefined;
  const parentBundle = parent ? await getBundle(req.storage, req.repo, parent.bundle).catch(() => undefined) : undefined;
  const bundleId = newId();
  const stored = await storeTree(req, format, (n) => keys.manifestPage(req.repo, bundleId, n), parentBundle);
  const descriptor: BundleDescriptor = {
    id: bundleId, repo: req.repo, parents: parent ? [parent.bundle] : [], message: req.message ?? '',
    contributor: req.contributor, created: new Date().toISOString(), hash: format.hash, chunker: format.chunker,
    files: stored.totals.files, bytes: stored.totals.bytes, pages: stored.pages, stats: stored.stats,
  };
  const committed = await commitBundle(req.storage, descriptor, req.label);
  const report = req.reporter ?? silentReporter;
  report({ type: 'bundle.committed', repo: req.repo, bundle: bundleId, files: descriptor.files, bytes: descriptor.bytes, newBytes: descriptor.stats.newBytes });
  if (committed.label) report({ type: 'label.set', repo: req.repo, label: committed.label.name, bundle: bundleId });
  return { ...committed, hashThreads: stored.hashThreads, skipped: stored.skipped, peakPendingEntries: stored.peakPendingEntries };
}

/** What an upload stored before any commit: durable, indexed packs and the manifest pages naming them. */
export interface StoredTree {
  pages: ManifestPage[];
  totals: UploadTotals;
  stats: BundleStats;
  skipped: SkippedFile[];
  hashThreads: number[];
  peakPendingEntries: number;
}

/**
 * Uploads the entries of `req.source` that `req.select` keeps (all by default) and writes their manifest pages
 * at `pageKey(n)`; a file unchanged since `parentBundle` is taken from it unread. Commits nothing: a crash or
 * failure leaves only unreferenced objects (packs that landed are indexed, so a rerun reuses them).
 */
export async function storeTree(
  req: UploadRequest & { select?: (path: string) => boolean }, format: FormatRecord, pageKey: (n: number) => string,
  parentBundle?: BundleDescriptor,
): Promise<StoredTree> {
  const report = req.reporter ?? silentReporter;
  const started = Date.now();
  const tuning = resolveTuning({ ...req.tuning, skipOnError: req.skipOnError }, format.chunker);
  const known = await loadBlobIndex(req.storage);
  await adoptUnindexedPacks(req.storage, known, report);
  const hashStage = new HashStage(tuning.workers || undefined);
  const pool = new BufferPool(tuning.chunkSize, tuning.budgetBytes);
  const totals: UploadTotals = { files: 0, bytes: 0, newBytes: 0, dedupBytes: 0, unchangedBytes: 0, packs: 0 };
  const chunks = new ChunkStore(req.storage, tuning, known, totals, report, Math.max(8, Math.floor(pool.capacity / 4)));
  const manifest = new ManifestWriter(req.storage, pageKey, tuning.pageSize, () => chunks.barrier());
  const entries = new EntryOrder(manifest, totals, report);
  const session = new UploadSession(tuning, chunks, entries, hashStage, pool, totals, report);
  // The total for progress and its ETA, counted beside the upload; only for a caller who listens.
  const counted = new AbortController();
  const counting = req.reporter ? countTree(req.source, report, { select: req.select, signal: counted.signal }) : undefined;
  try {
    const parentFiles = parentBundle && !req.rehash ? new ParentFiles(req.storage, parentBundle, known) : undefined;
    const skip = (s: ScanSkip) => report({ type: 'scan.skip', ...s });
    const unreadable = req.skipOnError ? (s: ScanSkip) => { entries.skipped.push(s); skip(s); } : undefined;
    const walk = withXattrs(selectEntries(withLinkGroups(walkTree(req.source, skip, unreadable)), req.select), report);
    await session.run(planJobs(walk, tuning, parentFiles && ((entry) => parentFiles.unchanged(entry))), req.signal);
  } catch (err) {
    await session.abandon();
    throw err;
  } finally {
    counted.abort();
    await counting;
    await hashStage.close();
  }
  const pages = await manifest.finish();
  reportXattrsUnavailable(report);
  const stats: BundleStats = {
    newBytes: totals.newBytes, dedupBytes: totals.dedupBytes, unchangedBytes: totals.unchangedBytes, packs: totals.packs,
    ...(entries.skipped.length ? { skippedFiles: entries.skipped.length } : {}),
    seconds: (Date.now() - started) / 1000,
  };
  return { pages, totals, stats, skipped: entries.skipped, hashThreads: [...session.hashThreads], peakPendingEntries: entries.maxPending };
}

/**
 * Packs no index names were left by a run killed before its checkpoint: index them from their trailers, so
 * this run reuses what landed (packs of an upload still running are adopted too, which is harmless).
 */
async function adoptUnindexedPacks(storage: Storage, known: CompactBlobIndex, report: Reporter): Promise<void> {
  const packs = [...await listPacks(storage)].filter(([pack]) => !known.hasPack(pack));
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
  await getRepo(req.storage, req.repo);
  const session = await openSession(req.storage, req.repo, req.session);
  const { index, count } = req.shard;
  const attempt = newId();
  const stored = await storeTree({ ...req, select: (path) => shardOf(path, count) === index }, format,
    (n) => keys.shardPage(session.id, index, attempt, n));
  const shard: ShardRecord = {
    session: session.id, index, count, attempt, created: new Date().toISOString(), contributor: req.contributor,
    files: stored.totals.files, bytes: stored.totals.bytes, pages: stored.pages, stats: stored.stats,
  };
  await recordShard(req.storage, shard);
  return { shard, skipped: stored.skipped, hashThreads: stored.hashThreads };
}
