/**
 * A repo of a store (`store.repo(name)`): its bundles, labels, sessions, WAL and read log, and the operations
 * that move data in and out of it. Bundles are named by refs (meta/refs.ts). Like the store's, each
 * operation's module is imported when the operation is first called.
 */
import type { Reporter } from './events.js';
import type { DownloadRequest, DownloadResult } from './download/download.js';
import type { UpdateRequest, UpdateResult } from './download/update.js';
import type { VerifyRequest, VerifyResult } from './download/verify.js';
import type { DamagedBundle } from './meta/bundles.js';
import type { Change } from './meta/diff.js';
import { checkName } from './meta/ids.js';
import { type LabelMove, deleteLabel, getLabel, labelHistory, listLabels, setLabel } from './meta/labels.js';
import type { ReadRecord } from './meta/readlog.js';
import { type BundleRef, resolveBundle } from './meta/refs.js';
import { getRepo } from './meta/repos.js';
import type { SessionCommit, SessionRecord, ShardSpec } from './meta/sessions.js';
import type { WalRecord } from './meta/wal.js';
import type { LineageGraph, LineageQuery } from './run/lineage.js';
import { InputError } from './errors.js';
import type { ShardUploadResult, UploadRequest, UploadResult } from './upload/upload.js';
import type { Store } from './store.js';
import type { ForgetRequest, ForgetResult } from './lifecycle/forget.js';
import type { RewriteRequest, RewriteResult } from './lifecycle/rewrite.js';
import type { RepoStats } from './lifecycle/stats.js';
import type { UploadPlan } from './upload/dry-run.js';
import type { CatFile } from './download/cat.js';
import type { FolderChange } from './download/folder-status.js';
import type { BundleReader, ReaderOptions } from './read/bundle-reader.js';
import type { MountHandle, MountOptions } from './read/mount.js';
import type { BundleDescriptor, Contributor, FileEntry, LabelRecord, RepoDescriptor } from './vocab.js';

/** A bundle as a string ref (full id, id prefix of 6+ characters, label, `latest`) or an explicit BundleRef. */
export type RefInput = string | BundleRef;

/** An operation's request without what the repo supplies (storage, repo name, format, index). */
type InRepo<R> = Omit<R, 'storage' | 'repo' | 'format' | 'index'>;

export type UploadOptions = InRepo<UploadRequest>;
export type DownloadOptions = Omit<InRepo<DownloadRequest>, 'ref'> & { ref: RefInput };
export type UpdateOptions = Omit<InRepo<UpdateRequest>, 'from' | 'to'> & { from: RefInput; to: RefInput };
export type VerifyOptions = Omit<InRepo<VerifyRequest>, 'ref'> & { ref: RefInput };
export type ForgetOptions = InRepo<ForgetRequest>;
export type RewriteOptions = InRepo<RewriteRequest>;

/** How to mount a bundle: the reader's cache and signal, who mounts and for which run (the read log), owner and error hook. */
export type MountBundleOptions = Omit<ReaderOptions, 'log'> & MountOptions & { contributor: Contributor; run?: string };

/** Two bundles and the changes from `a` to `b`, path by path, read from the manifests as they are iterated. */
export interface BundleDiff { a: BundleDescriptor; b: BundleDescriptor; changes: AsyncIterable<Change> }

/**
 * A bundle and its entries in path order. The listing is in the read log from its first entry asked for; its end
 * record says whether it was iterated to the end (completed), left early (interrupted) or failed.
 */
export interface BundleFiles { bundle: BundleDescriptor; entries: AsyncIterable<FileEntry> }

const toRef = (ref: RefInput): BundleRef => (typeof ref === 'string' ? { ref } : ref);

export class Repo {
  private described?: Promise<RepoDescriptor>;

  /** Use `store.repo(name)`. USAGE on a malformed name. */
  constructor(readonly store: Store, readonly name: string) {
    checkName(name, 'repo');
  }

  private get storage() { return this.store.storage; }

  /** The repo's descriptor, after the store's format: FORMAT, NOT_FOUND naming the repo. Read once. */
  describe(): Promise<RepoDescriptor> {
    this.described ??= this.store.format().then(() => getRepo(this.storage, this.name));
    this.described.catch(() => { this.described = undefined; });
    return this.described;
  }

  /** The committed bundle `ref` names (see meta/refs.ts for refs and their errors). */
  async resolve(ref: RefInput): Promise<BundleDescriptor> {
    await this.describe();
    return resolveBundle(this.storage, this.name, toRef(ref));
  }

  /** Committed bundles, oldest first, and the descriptors that are damaged (one does not hide the others). */
  async bundles(): Promise<{ bundles: BundleDescriptor[]; damaged: DamagedBundle[] }> {
    await this.describe();
    const { scanBundles } = await import('./meta/bundles.js');
    return scanBundles(this.storage, this.name);
  }

  /** Uploads a directory tree as a new bundle (see pipeline/upload.ts). Makes the store a datamover store if needed. */
  async upload(req: UploadOptions): Promise<UploadResult> {
    const format = await this.store.init();
    const { uploadBundle } = await import('./upload/upload.js');
    try {
      return await uploadBundle({ ...req, storage: this.storage, repo: this.name, format });
    } finally {
      this.store.indexChanged();
    }
  }

  /** Uploads one shard of a split upload into `session` (see pipeline/upload.ts `uploadShard`). */
  async uploadShard(req: UploadOptions & { session: string; shard: ShardSpec }): Promise<ShardUploadResult> {
    const format = await this.store.init();
    const { uploadShard } = await import('./upload/upload.js');
    try {
      return await uploadShard({ ...req, storage: this.storage, repo: this.name, format });
    } finally {
      this.store.indexChanged();
    }
  }

  /** Starts a split upload; its id goes to every `uploadShard`. */
  async startSession(contributor: Contributor, message = ''): Promise<SessionRecord> {
    await this.describe();
    const { startSession } = await import('./meta/sessions.js');
    return startSession(this.storage, this.name, contributor, message);
  }

  /** Merges every shard of `session` into one bundle. */
  async commitSession(req: InRepo<SessionCommit>): Promise<{ bundle: BundleDescriptor; label?: LabelRecord }> {
    const format = await this.store.format();
    const { commitSession } = await import('./meta/sessions.js');
    return commitSession({ ...req, storage: this.storage, repo: this.name, format });
  }

  /** Restores a bundle (or the entries `select` keeps) into `dest` (see download/download.ts). */
  async download(req: DownloadOptions): Promise<DownloadResult> {
    const bundle = await this.resolve(req.ref); // before the index is loaded: a bad ref fails fast
    const [format, index] = [await this.store.format(), await this.store.blobIndex()];
    const { downloadBundle } = await import('./download/download.js');
    return downloadBundle({ ...req, ref: { bundle: bundle.id }, storage: this.storage, repo: this.name, format, index });
  }

  /** Brings a directory holding bundle `from` to bundle `to`, fetching only what changed. */
  async update(req: UpdateOptions): Promise<UpdateResult> {
    const format = await this.store.format();
    const { updateBundle } = await import('./download/update.js');
    return updateBundle({ ...req, from: toRef(req.from), to: toRef(req.to), storage: this.storage, repo: this.name, format });
  }

  /** Re-reads every chunk of a bundle from the store and checks its hash. */
  async verify(req: VerifyOptions): Promise<VerifyResult> {
    const bundle = await this.resolve(req.ref);
    const [format, index] = [await this.store.format(), await this.store.blobIndex()];
    const { verifyBundle } = await import('./download/verify.js');
    return verifyBundle({ ...req, ref: { bundle: bundle.id }, storage: this.storage, repo: this.name, format, index });
  }

  /** What changed from bundle `a` to bundle `b`, from their manifests (no pack is read). */
  async diff(a: RefInput, b: RefInput): Promise<BundleDiff> {
    const [from, to] = [await this.resolve(a), await this.resolve(b)];
    const { diffBundles } = await import('./meta/diff.js');
    return { a: from, b: to, changes: diffBundles(this.storage, from, to) };
  }

  /** The entries of a bundle, recorded in the read log as a `bundle.files` read (see BundleFiles). */
  async files(ref: RefInput, opts: { contributor: Contributor; reporter?: Reporter }): Promise<BundleFiles> {
    const bundle = await this.resolve(ref);
    return { bundle, entries: this.listed(bundle, opts.contributor, opts.reporter ?? (() => undefined)) };
  }

  private async *listed(bundle: BundleDescriptor, contributor: Contributor, report: Reporter): AsyncGenerator<FileEntry> {
    const [{ ReadLogEntry }, { readEntries }] = await Promise.all([import('./meta/readlog.js'), import('./meta/manifest.js')]);
    const read = await ReadLogEntry.begin(this.storage, { type: 'bundle.files', repo: this.name, bundle: bundle.id, contributor }, report);
    const got = { files: 0, bytes: 0 };
    try {
      for await (const entry of readEntries(this.storage, bundle.pages)) {
        if (entry.type === 'file') { got.files++; got.bytes += entry.size; }
        yield entry;
      }
      await read.end('completed', got);
    } catch (err) {
      await read.end('failed', got, err).catch(() => undefined); // the listing's own error is the one to report
      throw err;
    } finally {
      // Still open here only when the consumer stopped early (a `break`, a `return`).
      await read.end('interrupted', got);
    }
  }

  /**
   * A reader of bundle `ref` in place: listings, attributes and byte ranges, every chunk hash-checked (see
   * read/bundle-reader.ts). Close it to drop its caches and record the reads (`opts.log`).
   */
  async openReader(ref: RefInput, opts: ReaderOptions = {}): Promise<BundleReader> {
    return this.readerOf(await this.resolve(ref), opts);
  }

  /** Like `openReader`, of a bundle of this repo already resolved (a server resolves each request's ref once). */
  async readerOf(bundle: BundleDescriptor, opts: ReaderOptions = {}): Promise<BundleReader> {
    await this.store.format();
    const { BundleReader } = await import('./read/bundle-reader.js');
    return BundleReader.open(this.storage, bundle, await this.store.blobIndex(), opts);
  }

  /**
   * Mounts bundle `ref` read-only at `mountpoint` (an empty directory) with FUSE; see read/mount.ts. The read
   * is recorded in the read log (`bundle.mount`, by `contributor`) when the mount ends.
   */
  async mount(mountpoint: string, ref: RefInput, opts: MountBundleOptions): Promise<MountHandle> {
    const { contributor, owner, onError, run, ...readerOpts } = opts;
    const reader = await this.openReader(ref, { ...readerOpts, log: { contributor, type: 'bundle.mount', startAtOpen: true, ...(run ? { run } : {}) } });
    try {
      const { mountReader } = await import('./read/mount.js');
      return await mountReader(reader, mountpoint, { owner, onError });
    } catch (err) {
      reader.abandon();
      throw err;
    }
  }

  /** The label `name`: NOT_FOUND when it does not exist (or was deleted). */
  async label(name: string): Promise<LabelRecord> {
    await this.describe();
    return getLabel(this.storage, this.name, name);
  }

  /** The labels of this repo (those whose name starts with `prefix`, when given). */
  async labels(prefix?: string): Promise<LabelRecord[]> {
    await this.describe();
    return listLabels(this.storage, this.name, prefix);
  }

  /** Points label `name` at the bundle `ref` names, by compare-and-swap (see meta/labels.ts). */
  async setLabel(name: string, ref: RefInput, contributor: Contributor, move: LabelMove = {}): Promise<LabelRecord> {
    checkName(name, 'label');
    const bundle = await this.resolve(ref);
    return setLabel(this.storage, this.name, name, bundle.id, contributor, move);
  }

  async deleteLabel(name: string, contributor: Contributor, move: LabelMove = {}): Promise<LabelRecord> {
    await this.describe();
    return deleteLabel(this.storage, this.name, name, contributor, move);
  }

  /** Every move of a label, newest first, from the WAL. */
  async labelHistory(name: string): Promise<WalRecord[]> {
    await this.describe();
    return labelHistory(this.storage, this.name, name);
  }

  /** This repo's WAL records after `afterId`, oldest first. */
  wal(afterId?: string): AsyncGenerator<WalRecord> {
    return this.store.wal({ repo: this.name, afterId });
  }

  /** This repo's read-log records after `afterId`, oldest first. */
  readLog(afterId?: string): AsyncGenerator<ReadRecord> {
    return this.store.readLog({ repo: this.name, afterId });
  }

  /**
   * Forgets bundles: those `refs` names, or those the retention policy `keep` does not keep (see
   * lifecycle/forget.ts for the order of writes and the errors). Packs stay until `gc`.
   */
  async forget(opts: ForgetOptions): Promise<ForgetResult> {
    await this.describe();
    const { forgetBundles } = await import('./lifecycle/forget.js');
    return forgetBundles({ ...opts, storage: this.storage, repo: this.name });
  }

  /** Rewrites bundles without the entries `exclude` matches, moves their labels, forgets the originals (lifecycle/rewrite.ts). */
  async rewrite(opts: RewriteOptions): Promise<RewriteResult> {
    await this.describe();
    const { rewriteBundles } = await import('./lifecycle/rewrite.js');
    return rewriteBundles({ ...opts, storage: this.storage, repo: this.name });
  }

  /** Bundles, files, logical and stored bytes of this repo (lifecycle/stats.ts). */
  async stats(): Promise<RepoStats> {
    await this.describe();
    const { repoStats } = await import('./lifecycle/stats.js');
    return repoStats(this.storage, this.name, await this.store.blobIndex());
  }

  /**
   * The bundles across the store that bundle `ref` was made from (`up`) or that were made from it (`down`), to
   * `depth` steps (see run/lineage.ts). USAGE (an InputError of field `depth`) unless depth is a positive integer.
   */
  async lineage(ref: RefInput, query: LineageQuery): Promise<LineageGraph> {
    if (query.depth !== undefined && !(Number.isSafeInteger(query.depth) && query.depth >= 1)) {
      throw new InputError('depth', JSON.stringify(query.depth), 'expected a positive integer');
    }
    const { lineageOf } = await import('./run/lineage.js');
    return lineageOf(this.storage, await this.resolve(ref), query);
  }

  /** What `upload` (or, with `shard`, `uploadShard`) would store, writing nothing (see upload/dry-run.ts). */
  async planUpload(req: UploadOptions & { shard?: ShardSpec }): Promise<UploadPlan> {
    const { planUpload } = await import('./upload/dry-run.js');
    return planUpload({ ...req, storage: this.storage, repo: this.name, format: await this.store.format() });
  }

  /** One file of a bundle, its bytes verified chunk by chunk as they are iterated (see download/cat.ts). */
  async cat(ref: RefInput, path: string, opts: { contributor: Contributor; reporter?: Reporter }): Promise<CatFile> {
    const bundle = await this.resolve(ref);
    const index = await this.store.blobIndex();
    const { catFile } = await import('./download/cat.js');
    return catFile({ storage: this.storage, repo: this.name, bundle, path, index, ...opts });
  }

  /** What differs between folder `dir` and bundle `ref` (see download/folder-status.ts); nothing is written. */
  async status(ref: RefInput, dir: string, opts: { checksum?: boolean; reporter?: Reporter } = {}): Promise<{ bundle: BundleDescriptor; changes: AsyncIterable<FolderChange> }> {
    const bundle = await this.resolve(ref);
    const report = opts.reporter ?? (() => undefined);
    const onSkip = (s: { path: string; reason: string }) => report({ type: 'scan.skip', ...s });
    const { folderStatus } = await import('./download/folder-status.js');
    return { bundle, changes: folderStatus({ storage: this.storage, bundle, dir, checksum: opts.checksum, onSkip }) };
  }
}
