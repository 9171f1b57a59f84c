/**
 * The front door of the engine: `openStore` opens a store (one URL, or one per role), and the `Store` it
 * returns checks the format once, owns the blob index, and hands out `Repo`s. Every operation starts here;
 * nothing outside the engine handles a raw `Storage`.
 *
 * Each operation's module is imported when the operation is first called: a command then loads the modules it
 * runs, not all of them (loading the whole engine was 0.2 s of CPU before every command, a `gc` or an unchanged
 * rerun included).
 */
import { DatamoverError } from './errors.js';
import type { BenchRequest, BenchRow } from './bench/storage-bench.js';
import type { FsckResult } from './check/fsck.js';
import type { CopyRequest, CopyResult } from './copy/copy.js';
import type { LoadedBlobIndex } from './meta/blob-index.js';
import type { GcOptions, GcResult } from './gc/gc.js';
import type { ChainLog } from './meta/chain.js';
import type { ChainChecks, ChainReport } from './meta/chain-verify.js';
import { CHUNKERS, compressionAllowed, defaultCompression, openFormat } from './meta/format.js';
import { checkName } from './meta/ids.js';
import type { ReadRecord } from './meta/readlog.js';
import { createRepo, listRepos } from './meta/repos.js';
import { type RecordSigner, useSigner } from './meta/signing.js';
import type { WalRecord } from './meta/wal.js';
import { removeEmptyStaging } from './storage/local.js';
import { type OpenOptions, localRoot } from './storage/open.js';
import { type RoleUrls, openRoutedStorage } from './storage/routing.js';
import { type Storage, childNames, holdsAny, readIfExists } from './storage/storage.js';
import { type ChunkerSpec, type CompressionLevel, type Contributor, type FormatRecord, type RepoDescriptor, keys } from './vocab.js';
import { Repo } from './repo.js';
import type { RepoDeleteResult } from './lifecycle/repo-delete.js';
import type { StoreStats } from './lifecycle/stats.js';
import type { StepRequest, StepResult } from './run/run.js';

/** How to open a store: its URL (a path, file://, s3://, gs://, memory://), other stores per role, and transport. */
export interface StoreOptions extends RoleUrls, OpenOptions {
  /**
   * Make it a datamover store if it is not one yet (writes format.json, create-only), chunking with `chunker`
   * (default fixed). CONFLICT when it already is one with another chunker.
   */
  create?: boolean | { chunker: ChunkerSpec['kind'] };
  /** Sign every WAL and read-log record written to this store (by this process) with this key (docs/audit.md). */
  signer?: RecordSigner;
}

/** A store's records since a point: every repo's, or one repo's; ids after `afterId` (ids sort by time). */
export interface LogQuery { repo?: string; afterId?: string }

/**
 * Opens the store `target` (a URL, or options). Nothing is read until an operation needs it, except with
 * `create`, which makes the store. USAGE on a URL that cannot be opened.
 */
export async function openStore(target: string | StoreOptions): Promise<Store> {
  const opts: StoreOptions = typeof target === 'string' ? { url: target } : target;
  const store = new Store(opts, openRoutedStorage(opts, opts));
  if (opts.signer) useSigner(store.url, opts.signer);
  if (opts.create) await store.init(opts.create === true ? undefined : opts.create.chunker);
  return store;
}

export class Store {
  readonly url: string;
  private checked?: Promise<FormatRecord>;
  private index?: Promise<LoadedBlobIndex>;

  /** Use `openStore`. `storage` is the routed storage of every role; operations inside the engine use it. */
  constructor(private readonly opts: RoleUrls, readonly storage: Storage) {
    this.url = storage.url;
  }

  /** The store's format record, read and checked once. FORMAT when this is not a datamover store. */
  format(): Promise<FormatRecord> {
    this.checked ??= openFormat(this.storage, false);
    this.checked.catch(() => { this.checked = undefined; }); // a failed check is not remembered
    return this.checked;
  }

  /** Makes this a datamover store if it is not one (see StoreOptions.create); returns its format record. */
  async init(chunker?: ChunkerSpec['kind']): Promise<FormatRecord> {
    const known = chunker === undefined ? await this.checked?.catch(() => undefined) : undefined;
    if (known) return known;
    const format = await openFormat(this.storage, true, chunker === undefined ? undefined : CHUNKERS[chunker]);
    this.checked = Promise.resolve(format);
    return format;
  }

  /** The repo `name`. Nothing is read until one of its operations runs; NOT_FOUND then if it does not exist. */
  repo(name: string): Repo {
    return new Repo(this, name);
  }

  /**
   * Creates repo `name` (making the store a datamover store first if needed). ALREADY_EXISTS if taken.
   * `compression` (default: `default`, or `off` in a store of format version 1) is the repo's, not the store's:
   * it is chosen where data is described (a repo of media and one of logs want different levels), dedup still
   * spans the store (chunk ids name plaintext), and readers never need it (each blob records its own codec).
   * Compression in a version 1 store is refused (FORMAT): builds that read only version 1 may share it.
   */
  async createRepo(name: string, opts: {
    contributor: Contributor; description?: string; chunker?: ChunkerSpec['kind']; compression?: CompressionLevel;
  }): Promise<RepoDescriptor> {
    const format = await this.init(opts.chunker);
    const compression = opts.compression ?? defaultCompression(format);
    if (compression !== 'off' && !compressionAllowed(format)) {
      throw new DatamoverError('FORMAT', `${this.storage.url} is a store of format version ${format.version}, which older builds read: its repos cannot compress (--compression off)`);
    }
    return createRepo(this.storage, name, opts.description ?? '', opts.contributor, compression);
  }

  /** The repos, by name. A new, empty store has none; one holding repos but no format.json is refused (FORMAT). */
  async listRepos(): Promise<RepoDescriptor[]> {
    const exists = (await readIfExists(this.storage, keys.format)) !== undefined || (await holdsAny(this.storage, keys.reposPrefix));
    if (!exists) return [];
    await this.format();
    return listRepos(this.storage);
  }

  /** WAL records, oldest first, as they are read. */
  async *wal(query: LogQuery = {}): AsyncGenerator<WalRecord> {
    await this.checkFor(query.repo);
    const { listWal } = await import('./meta/wal.js');
    yield* listWal(this.storage, query);
  }

  /**
   * Reads (downloads, listings, verifies), one each, in the order they ended, then those that never ended as
   * `unfinished` (meta/readlog.ts `listReads`), as they are read.
   */
  async *readLog(query: LogQuery = {}): AsyncGenerator<ReadRecord> {
    await this.checkFor(query.repo);
    const { listReads } = await import('./meta/readlog.js');
    yield* listReads(this.storage, query);
  }

  /**
   * Verifies the hash chain of the WAL or the read log (meta/chain-verify.ts), of one repo or of every repo that
   * has one; with `verifiers`, every chained record must be signed by one of their keys; each `kept` tip (of the
   * one repo named) must still be there. Broken links are in the
   * reports (each sorted: the first is the first broken link), not thrown.
   */
  async verifyLog(log: ChainLog, opts: { repo?: string } & ChainChecks = {}): Promise<ChainReport[]> {
    await this.format();
    if (opts.repo) checkName(opts.repo, 'repo'); // a deleted repo's logs stay: it need not exist
    const repos = opts.repo ? [opts.repo] : (await childNames(this.storage, `${log}/`)).sort();
    const { verifyChain } = await import('./meta/chain-verify.js');
    const reports: ChainReport[] = [];
    for (const repo of repos) reports.push(await verifyChain(this.storage, log, repo, opts));
    return reports;
  }

  /** The blob index (damaged index objects left out), loaded on first use; dropped when an operation adds packs. */
  blobIndex(): Promise<LoadedBlobIndex> {
    this.index ??= import('./meta/blob-index.js').then(({ loadBlobIndex }) => loadBlobIndex(this.storage, { tolerateDamage: true }));
    this.index.catch(() => { this.index = undefined; });
    return this.index;
  }

  /** Forgets the loaded blob index: packs were added or the index rebuilt. */
  indexChanged(): void {
    this.index = undefined;
  }

  /** Checks packs, indexes, manifests and labels (see check/fsck.ts). Problems are in the result, not thrown. */
  async fsck(opts: { readData?: boolean; concurrency?: number; repairIndex?: boolean; signal?: AbortSignal } = {}): Promise<FsckResult> {
    if (opts.repairIndex) this.indexChanged();
    const { fsck } = await import('./check/fsck.js');
    return fsck(this.storage, opts);
  }

  /** Collects garbage (gc/gc.ts, docs/gc.md): safe while uploads run. */
  async gc(opts: GcOptions = {}): Promise<GcResult> {
    await this.format();
    const { collectGarbage } = await import('./gc/gc.js');
    try {
      return await collectGarbage(this.storage, opts);
    } finally {
      this.indexChanged();
    }
  }

  /**
   * Aborts the multipart uploads of packs (and the local store's staged writes) older than `olderThanMs`:
   * what killed uploads leave. Younger ones may belong to an upload still running. Returns their keys.
   */
  async abortStaleUploads(olderThanMs: number): Promise<string[]> {
    return (await this.storage.abortStaleUploads?.(keys.blobsPrefix, olderThanMs)) ?? [];
  }

  /** Storage throughput per size and concurrency; writes and removes `bench/<id>/`. */
  async bench(req: Omit<BenchRequest, 'storage'>): Promise<BenchRow[]> {
    const { benchStorage } = await import('./bench/storage-bench.js');
    return benchStorage({ ...req, storage: this.storage });
  }

  /** Copies every object of this store to `dest` (a plain tree copy, for migrations; see copy/copy.ts). */
  async copyTo(dest: Store, req: Omit<CopyRequest, 'source' | 'dest'> = {}): Promise<CopyResult> {
    try {
      const { copyTree } = await import('./copy/copy.js');
      return await copyTree({ ...req, source: this.storage, dest: dest.storage });
    } finally {
      await dest.close();
    }
  }

  /**
   * Deletes repo `name`: its bundles, labels and sessions; its WAL and read log stay (lifecycle/repo-delete.ts).
   * Finishes an interrupted delete. NOT_FOUND when there is nothing of the repo. Packs stay until `gc`.
   */
  async deleteRepo(name: string, contributor: Contributor): Promise<RepoDeleteResult> {
    await this.format();
    const { deleteRepo } = await import('./lifecycle/repo-delete.js');
    return deleteRepo(this.storage, name, contributor);
  }

  /**
   * Bundles, files, logical and stored bytes per repo and for the store (lifecycle/stats.ts), and the bytes a
   * gc would reclaim now (a dry run's mark: unused packs and the unused share of those it would repack).
   */
  async stats(): Promise<StoreStats & { reclaimableBytes: number }> {
    await this.format();
    const [{ storeStats }, { collectGarbage }] = await Promise.all([import('./lifecycle/stats.js'), import('./gc/gc.js')]);
    const stats = await storeStats(this.storage, await this.blobIndex());
    const { reclaimableBytes } = await collectGarbage(this.storage, { dryRun: true });
    return { ...stats, reclaimableBytes };
  }

  /**
   * Runs one pipeline step: downloads its inputs, runs its command, and if it exits 0 uploads its outputs as
   * bundles recording inputs, command and run id (see run/run.ts). FORMAT when this is not a datamover store.
   */
  async runStep(req: StepRequest): Promise<StepResult> {
    await this.format();
    const { runStep } = await import('./run/run.js');
    return runStep(this, req);
  }

  /** Tidies up once no operation on this store is running: a local store's empty staging directory goes. */
  async close(): Promise<void> {
    const urls = [this.opts.url, ...Object.values(this.opts.stores ?? {})];
    for (const root of urls.map((url) => (url ? localRoot(url) : undefined))) if (root) await removeEmptyStaging(root);
  }

  /** The format, and the repo when one is named. */
  private async checkFor(repo: string | undefined): Promise<void> {
    if (repo) await this.repo(repo).describe();
    else await this.format();
  }
}
