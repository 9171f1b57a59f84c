/**
 * Ranged reads of packs into reused buffers: fresh memory is expensive, and a buffer moved to a worker is freed
 * late there. A read larger than the pool's buffers gets one of its own, dropped when given back. Reads of at
 * most SMALL_READ (a batch of small files, or one chunk) take buffers of that size from a pool of their own,
 * not 16 MiB ones: 1 KiB files held 16 MiB buffers for 4 MiB reads, 60 MiB more than they needed.
 */
import { BufferPool } from '../runtime/buffer-pool.js';
import { isStorageError, readRangeInto, type Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import { MAX_READ, type RangeRead } from './fetch-plan.js';

const SMALL_READ = 4 * 1024 * 1024;

export class PackReads {
  private readonly buffers: BufferPool;
  private readonly small: BufferPool;

  /** Holds up to `inFlight` + 2 pooled buffers: one per read in flight, and the ones on their way back. */
  constructor(private readonly storage: Storage, inFlight: number) {
    this.buffers = new BufferPool(MAX_READ, MAX_READ * (inFlight + 2));
    this.small = new BufferPool(SMALL_READ, SMALL_READ * (inFlight + 2));
  }

  /**
   * The bytes of `read` in a buffer, or undefined if the pack is missing (other storage failures throw). A short
   * read leaves `length` short: the worker reports it as truncation.
   */
  async read<T>(read: RangeRead<T>): Promise<{ buffer: ArrayBuffer; length: number } | undefined> {
    const pool = this.poolOf(read.length);
    const buffer = pool ? await pool.acquire() : new ArrayBuffer(read.length);
    try {
      const range = { offset: read.offset, length: read.length };
      return { buffer, length: await readRangeInto(this.storage, keys.pack(read.pack), range, new Uint8Array(buffer)) };
    } catch (err) {
      this.giveBack(buffer);
      if (!isStorageError(err, 'notFound')) throw err;
      return undefined;
    }
  }

  /** Returns a buffer that came back (from a worker, or unused). */
  giveBack(buffer: ArrayBuffer): void {
    if (buffer.byteLength === MAX_READ || buffer.byteLength === SMALL_READ) this.poolOf(buffer.byteLength)!.release(buffer);
  }

  /** A buffer that will never come back (its worker failed): the pool stops counting it. */
  lost(buffer: ArrayBuffer): void {
    if (buffer.byteLength === MAX_READ || buffer.byteLength === SMALL_READ) this.poolOf(buffer.byteLength)!.forget();
  }

  /** The pool whose buffers take `length` bytes (the smallest that does), or none. */
  private poolOf(length: number): BufferPool | undefined {
    return length <= SMALL_READ ? this.small : length <= MAX_READ ? this.buffers : undefined;
  }
}
