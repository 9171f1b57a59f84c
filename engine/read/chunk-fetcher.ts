/**
 * Chunks on demand for readers: from the caches, else from their packs through the blob index, with the chunks
 * of one request that sit near each other in a pack read by one ranged get (fetch-plan.ts `coalesce`, then
 * download/read-pieces.ts). Every chunk's hash is checked before it is cached or served; a chunk asked for
 * while it is being fetched waits for that fetch. All-zero chunks (download/zero-chunks.ts) are never fetched.
 */
import { coalesce, type Piece, type RangeRead } from '../download/fetch-plan.js';
import { type CheckedPiece, readPieces } from '../download/read-pieces.js';
import { isHoleChunk } from '../download/zero-chunks.js';
import type { LoadedBlobIndex } from '../meta/blob-index.js';
import type { Storage } from '../storage/storage.js';
import type { ChunkRef } from '../vocab.js';
import type { DiskChunkCache, MemoryChunkCache } from './chunk-cache.js';

/** Why a chunk cannot be served: the reader turns it into INTEGRITY naming the file that needed it. */
export class ChunkProblem extends Error {
  constructor(readonly hash: string, readonly reason: string) {
    super(`chunk ${hash} ${reason}`);
  }
}

/** A read waiting for a chunk of `length` bytes (the manifest's: a compressed blob is stored shorter). */
interface Waiter { length: number; resolve: (chunk: Buffer) => void; reject: (err: unknown) => void }

export interface FetchCounters {
  /** Chunks asked of storage (each verified when its pack answers). */
  chunkFetches: number;
  /** Ranged gets issued for them. */
  rangeReads: number;
}

/**
 * Verified chunks and the fetches under way, for one reader or shared by many (a server's requests): chunks are
 * named by their hash, so readers of any bundle of a store can share them. Bounded by the memory cache.
 */
export class ChunkPool {
  readonly inFlight = new Map<string, Promise<Buffer>>();

  constructor(readonly memory: MemoryChunkCache, readonly disk?: DiskChunkCache) {}
}

export class ChunkFetcher {
  readonly counters: FetchCounters = { chunkFetches: 0, rangeReads: 0 };
  private readonly zeros = new Map<number, Buffer>();
  private readonly memory: MemoryChunkCache;
  private readonly disk: DiskChunkCache | undefined;
  private readonly inFlight: Map<string, Promise<Buffer>>;

  /**
   * Fetches through `pool`'s caches; a chunk another fetcher of the pool is fetching is waited for, not fetched
   * again. `signal` stops this fetcher's reads: with a shared pool it must be the pool owner's, not a request's,
   * since other readers may wait for the same fetch (a reader stops waiting on its own signal instead).
   */
  constructor(
    private readonly storage: Storage, private readonly index: LoadedBlobIndex, pool: ChunkPool, private readonly signal?: AbortSignal,
  ) {
    [this.memory, this.disk, this.inFlight] = [pool.memory, pool.disk, pool.inFlight];
  }

  /** One promise per chunk, in order; each rejects with ChunkProblem when its chunk is damaged or missing. */
  get(chunks: readonly ChunkRef[]): Promise<Buffer>[] {
    const waiting: Piece<Waiter>[] = [];
    const out = chunks.map(([hash, length]) => {
      const known = this.known(hash, length);
      if (known) return known;
      const promise = new Promise<Buffer>((resolve, reject) => {
        const location = this.index.get(hash);
        if (!location) reject(new ChunkProblem(hash, `is in no index${this.index.missingHint()}`));
        // A raw blob must be the manifest's length (a shorter one reads as truncated); a compressed one is
        // checked by its hash once decoded.
        else waiting.push({ hash, location: location.codec ? location : { ...location, length }, target: { length, resolve, reject } });
      });
      this.track(hash, promise);
      return promise;
    });
    if (waiting.length) void this.fetch(waiting);
    return out;
  }

  /** Starts fetching chunks not held yet; failures are left for a read that needs the chunk to meet. */
  prefetch(chunks: readonly ChunkRef[]): void {
    for (const p of this.get(chunks)) p.catch(() => undefined);
  }

  /** A held, in-flight or all-zero chunk. */
  private known(hash: string, length: number): Promise<Buffer> | undefined {
    if (isHoleChunk(hash, length)) return Promise.resolve(this.zeroChunk(length));
    const cached = this.memory.get(hash);
    if (cached) return Promise.resolve(cached);
    return this.inFlight.get(hash);
  }

  private track(hash: string, promise: Promise<Buffer>): void {
    this.inFlight.set(hash, promise);
    const done = () => { if (this.inFlight.get(hash) === promise) this.inFlight.delete(hash); };
    promise.then(done, done);
  }

  private async fetch(pieces: Piece<Waiter>[]): Promise<void> {
    const fromStorage: Piece<Waiter>[] = [];
    for (const piece of pieces) {
      const chunk = await this.disk?.get(piece.hash, piece.target.length);
      if (chunk) this.deliver(piece, chunk);
      else fromStorage.push(piece);
    }
    await Promise.all(coalesce(fromStorage).map((read) => this.readRange(read)));
  }

  private async readRange(read: RangeRead<Waiter>): Promise<void> {
    let checked: CheckedPiece<Waiter>[];
    try {
      this.counters.rangeReads++;
      checked = await readPieces(this.storage, read, this.signal);
    } catch (err) {
      for (const p of read.pieces) p.target.reject(err);
      return;
    }
    this.counters.chunkFetches += checked.length;
    for (const { piece, blob, damage } of checked) {
      if (damage !== undefined) piece.target.reject(new ChunkProblem(piece.hash, damage));
      // The chunks of one read share its buffer: they were asked for together and are cached together.
      else this.deliver(piece, blob);
    }
  }

  private deliver(piece: Piece<Waiter>, chunk: Buffer): void {
    this.memory.set(piece.hash, chunk);
    void this.disk?.set(piece.hash, chunk);
    piece.target.resolve(chunk);
  }

  /** A shared zero buffer per length: served by copy only, never written to. */
  private zeroChunk(length: number): Buffer {
    let zero = this.zeros.get(length);
    if (!zero) this.zeros.set(length, (zero = Buffer.alloc(length)));
    return zero;
  }
}
