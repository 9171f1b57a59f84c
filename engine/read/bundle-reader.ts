/**
 * Reads a bundle in place, by path and byte range, without restoring it: the shared core of `bundle mount` and
 * `serve`. Listings and attributes come from the manifest pages, read lazily (manifest-view.ts); file bytes come
 * chunk by chunk through a bounded cache (chunk-fetcher.ts), every chunk hash-checked before it is served. A
 * damaged or missing chunk fails the read with INTEGRITY naming the file and the chunk, and a `read.damaged`
 * warning; wrong bytes are never returned.
 */
import { interruptedError } from '../cancel.js';
import { DatamoverError, integrityError, notFound } from '../errors.js';
import type { Reporter } from '../events.js';
import { byteLength, displayName } from '../fs-path.js';
import type { LoadedBlobIndex } from '../meta/blob-index.js';
import { ReadLogEntry, type ReadRecord } from '../meta/readlog.js';
import type { Storage } from '../storage/storage.js';
import type { BundleDescriptor, Contributor, FileEntry } from '../vocab.js';
import { DiskChunkCache, MemoryChunkCache } from './chunk-cache.js';
import { ChunkFetcher, ChunkPool, ChunkProblem } from './chunk-fetcher.js';
import { ManifestView } from './manifest-view.js';
import type { PageCache } from './page-cache.js';

export interface ReaderEntry {
  /** Manifest path ('' for the root), names as stored (bytes that are not UTF-8 as lone surrogates). */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  /** Permission bits (07777), as stored. */
  mode: number;
  mtimeMs: number;
  target?: string;
  entry: FileEntry;
}

/** How a reader's reads are recorded in the read log when it closes. */
export interface ReadLogAs {
  contributor: Contributor;
  /** Default `bundle.read`. */
  type?: Extract<ReadRecord['type'], 'bundle.mount' | 'bundle.serve' | 'bundle.read'>;
  /** The remote address of the client reading, for a server. */
  client?: string;
  /** The run (a `run` step) the reads are for. */
  run?: string;
  /** Write the start record when the reader opens (a mount), not at its first read. */
  startAtOpen?: boolean;
}

export interface ReaderOptions {
  /** Bytes of verified chunks kept (default 256 MiB); also the bound of `cacheDir`. */
  cacheBytes?: number;
  /** Keep chunks also in this local directory (checked again when read back). */
  cacheDir?: string;
  /** Stops fetches in flight; reads then fail with INTERRUPTED. */
  signal?: AbortSignal;
  reporter?: Reporter;
  /** Record the reads in the read log on `close` (nothing is recorded without it). */
  log?: ReadLogAs;
  /**
   * Chunks shared with other readers of the store (`sharedChunks`): then `cacheBytes` and `cacheDir` are the
   * pool's, closing the reader leaves the pool as it is, and `signal` must outlive each reader (a server's).
   */
  pool?: ChunkPool;
  /** Decoded manifest pages shared with other readers of the store (default: the reader's own, 80,000 entries). */
  pages?: PageCache;
}

export interface ReaderCounters {
  /** Distinct files read from. */
  filesOpened: number;
  /** Bytes returned by `read`. */
  bytesRead: number;
  /** Chunks fetched from storage (cache misses), each verified. */
  chunkFetches: number;
  /** Ranged gets for them (adjacent chunks of a pack are coalesced). */
  rangeReads: number;
  /** Manifest pages fetched. */
  pageReads: number;
}

export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;
/** How far a sequential reader is read ahead, at most (and at most a quarter of the cache). */
const READ_AHEAD_BYTES = 32 * 1024 * 1024;
/** Files whose chunk offsets are kept. */
const OPEN_FILES_KEPT = 256;
/** With a cache directory, chunks in memory are bounded by this (the directory holds `cacheBytes`). */
const MEMORY_WITH_DISK = 64 * 1024 * 1024;

/** A file being read: where each chunk starts, and where the last read ended (to spot sequential readers). */
interface OpenFile { entry: FileEntry; starts: number[]; lastEnd: number }

export class BundleReader {
  private readonly view: ManifestView;
  private readonly fetcher: ChunkFetcher;
  private readonly files = new Map<string, OpenFile>();
  private readonly opened = new Set<string>();
  private bytes = 0;
  private closed = false;

  /** The read's start record (with `log`), ended by `close`. */
  private logEntry: ReadLogEntry | undefined;
  private logStart: Promise<void> | undefined;

  /** Use `Repo.openReader`. */
  constructor(
    private readonly storage: Storage, readonly bundle: BundleDescriptor, index: LoadedBlobIndex,
    private readonly opts: ReaderOptions, private readonly pool: ChunkPool,
  ) {
    this.view = new ManifestView(storage, bundle.pages, opts.pages);
    this.fetcher = new ChunkFetcher(storage, index, pool, opts.signal);
  }

  /** Opens a reader of `bundle` (its own caches are made here unless `opts.pool`; a cache directory is created if missing). */
  static async open(storage: Storage, bundle: BundleDescriptor, index: LoadedBlobIndex, opts: ReaderOptions = {}): Promise<BundleReader> {
    const reader = new BundleReader(storage, bundle, index, opts, opts.pool ?? await sharedChunks(opts));
    // A mount is on record from the moment it is up (so a mount killed before it closes still is).
    if (opts.log?.startAtOpen) await reader.logStarted();
    return reader;
  }

  /** Writes the read's start record once (with `log`): at open for a mount, else at the first read. */
  private logStarted(): Promise<void> {
    const log = this.opts.log;
    if (!log) return Promise.resolve();
    this.logStart ??= ReadLogEntry.begin(this.storage, {
      type: log.type ?? 'bundle.read', repo: this.bundle.repo, bundle: this.bundle.id, contributor: log.contributor,
      ...(log.client ? { client: log.client } : {}), ...(log.run ? { run: log.run } : {}),
    }, this.opts.reporter ?? (() => undefined)).then((entry) => { this.logEntry = entry; });
    return this.logStart;
  }

  get counters(): ReaderCounters {
    return {
      filesOpened: this.opened.size, bytesRead: this.bytes, pageReads: this.view.pageReads, ...this.fetcher.counters,
    };
  }

  /** The entry at `path` ('' is the root directory), or undefined when the bundle has none there. */
  async stat(path: string): Promise<ReaderEntry | undefined> {
    if (path === '') return this.root();
    const entry = await this.view.find(path);
    return entry && toReaderEntry(entry);
  }

  /** The direct children of directory `dir`, in name (manifest) order. NOT_FOUND when `dir` is no directory. */
  async *list(dir: string): AsyncGenerator<ReaderEntry> {
    const self = await this.stat(dir);
    if (self?.type !== 'dir') throw notFound(`${this.where(dir)}: no such directory`);
    for await (const entry of this.view.children(dir)) yield toReaderEntry(entry);
  }

  /**
   * `length` bytes of file `path` from `offset`; fewer where the file ends (none past its end). NOT_FOUND when
   * the bundle has no file there; INTEGRITY when a chunk the range needs is damaged or missing.
   */
  async read(path: string, offset: number, length: number, signal?: AbortSignal): Promise<Buffer> {
    const file = await this.openFile(path);
    await this.logStarted();
    const out = Buffer.allocUnsafe(Math.max(0, Math.min(file.entry.size, offset + length) - offset));
    await this.fill(file, offset, out, signal);
    return out;
  }

  /** Like `read`, into `into` (as many bytes as it holds, fewer at the end of the file); returns the count. */
  async readInto(path: string, offset: number, into: Uint8Array, signal?: AbortSignal): Promise<number> {
    const file = await this.openFile(path);
    await this.logStarted();
    const n = Math.max(0, Math.min(file.entry.size, offset + into.length) - offset);
    await this.fill(file, offset, into.subarray(0, n), signal);
    return n;
  }

  /** Fills `out` with the file's bytes from `offset` (`out` ends within the file). */
  private async fill(file: OpenFile, offset: number, out: Uint8Array, signal?: AbortSignal): Promise<void> {
    const end = offset + out.length;
    if (end <= offset) return;
    const { starts, entry } = file;
    const [first, last] = [chunkAt(starts, offset), chunkAt(starts, end - 1)];
    const chunks = entry.chunks!;
    const parts = this.fetcher.get(chunks.slice(first, last + 1));
    if (offset === file.lastEnd) this.readAhead(file, last + 1);
    file.lastEnd = end;
    for (let i = first; i <= last; i++) {
      const chunk = await this.await(parts[i - first]!, entry.path, signal);
      const from = Math.max(offset, starts[i]!);
      const to = Math.min(end, starts[i]! + chunks[i]![1]);
      out.set(chunk.subarray(from - starts[i]!, to - starts[i]!), from - offset);
    }
    this.bytes += out.length;
  }

  /** Drops the caches and records the end of the read in the read log (with `log`, once it started). Reads after this fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.drop();
    await this.logStart?.catch(() => undefined);
    const { filesOpened, bytesRead } = this.counters;
    await this.logEntry?.end('completed', { files: filesOpened, bytes: bytesRead });
  }

  /**
   * Closes without a completed read: for a reader whose use failed or never began (a mount that failed, a
   * request that sent nothing). A read that started is ended as failed; one that did not leaves no record.
   */
  abandon(): void {
    if (this.closed) return;
    this.drop();
    const { filesOpened, bytesRead } = this.counters;
    void this.logStart?.then(() => this.logEntry?.end('failed', { files: filesOpened, bytes: bytesRead })).catch(() => undefined);
  }

  private drop(): void {
    this.closed = true;
    if (!this.opts.pool) this.pool.memory.clear();
    this.files.clear();
  }

  private root(): ReaderEntry {
    const entry: FileEntry = { path: '', type: 'dir', size: 0, mode: 0o755, mtime: Date.parse(this.bundle.created) };
    return toReaderEntry(entry);
  }

  private async openFile(path: string): Promise<OpenFile> {
    if (this.closed) throw new DatamoverError('USAGE', 'the bundle reader is closed');
    let file = this.files.get(path);
    if (file) {
      this.files.delete(path);
    } else {
      const entry = await this.view.find(path);
      if (entry?.type !== 'file') throw notFound(`${this.where(path)}: no such file`);
      const starts: number[] = [];
      let at = 0;
      for (const [, length] of entry.chunks ?? []) {
        starts.push(at);
        at += length;
      }
      file = { entry, starts, lastEnd: 0 };
    }
    this.opened.add(path);
    this.files.set(path, file);
    if (this.files.size > OPEN_FILES_KEPT) this.files.delete(this.files.keys().next().value!);
    return file;
  }

  /** A sequential reader gets the chunks after `next` fetched ahead, up to the read-ahead window. */
  private readAhead(file: OpenFile, next: number): void {
    const window = Math.min(READ_AHEAD_BYTES, this.pool.memory.maxBytes / 4);
    const chunks = file.entry.chunks!;
    let end = next;
    let bytes = 0;
    while (end < chunks.length && bytes + chunks[end]![1] <= window) bytes += chunks[end++]![1];
    if (end > next) this.fetcher.prefetch(chunks.slice(next, end));
  }

  /** A chunk's bytes, or the read's error: INTEGRITY naming the file (and a warning), INTERRUPTED on abort. */
  private async await(part: Promise<Buffer>, path: string, signal?: AbortSignal): Promise<Buffer> {
    try {
      return await abortable(part, signal);
    } catch (err) {
      if (this.opts.signal?.aborted) throw interruptedError(err);
      if (!(err instanceof ChunkProblem)) throw err;
      this.opts.reporter?.({ type: 'read.damaged', repo: this.bundle.repo, bundle: this.bundle.id, path, chunk: err.hash, reason: err.reason });
      throw integrityError(`${this.where(path)}: ${err.message}`);
    }
  }

  private where(path: string): string {
    return `bundle ${this.bundle.id} ${JSON.stringify(displayName(path))}`;
  }
}

/**
 * A chunk pool bounded by `cacheBytes` (default 256 MiB), kept also in `cacheDir` when given (created if
 * missing): a reader's own, or one for many readers to share (ReaderOptions.pool).
 */
export async function sharedChunks(opts: { cacheBytes?: number; cacheDir?: string } = {}): Promise<ChunkPool> {
  const cacheBytes = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const disk = opts.cacheDir ? await DiskChunkCache.open(opts.cacheDir, cacheBytes) : undefined;
  return new ChunkPool(new MemoryChunkCache(disk ? Math.min(cacheBytes, MEMORY_WITH_DISK) : cacheBytes), disk);
}

function toReaderEntry(entry: FileEntry): ReaderEntry {
  return {
    path: entry.path, type: entry.type, mode: entry.mode,
    size: entry.type === 'file' ? entry.size : entry.type === 'symlink' ? byteLength(entry.target ?? '') : 0,
    mtimeMs: entry.mtime + (entry.mtimeNanos ?? 0) / 1e6, ...(entry.target !== undefined ? { target: entry.target } : {}), entry,
  };
}

/** The index of the chunk holding byte `offset`: the last start at or before it. */
function chunkAt(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** `promise`, or INTERRUPTED as soon as `signal` aborts (the work behind it goes on, for the cache). */
function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(interruptedError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(interruptedError());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
