/**
 * Where a run's chunks go: a chunk already stored (in the index) or already claimed in this run is referenced,
 * not stored again; a new one is packed. Packs that land are indexed in checkpoints, so a killed run's rerun
 * reuses them, and `barrier()` is the rule manifest pages wait for: every pack so far durable and indexed.
 */
import type { Reporter } from '../events.js';
import { writeBlobIndex } from '../meta/blob-index.js';
import type { CompactBlobIndex } from '../meta/compact-index.js';
import type { Storage } from '../storage/storage.js';
import type { IndexEntry } from '../vocab.js';
import { type DurablePack, type Lease, Packer } from './packer.js';
import type { Tuning } from './tuning.js';

/** The longest a durable pack waits for its index checkpoint (unless no other pack lands meanwhile). */
const CHECKPOINT_MS = 10_000;

/** What the store counts, in the run's totals. */
export interface ChunkTotals {
  newBytes: number; dedupBytes: number; packs: number;
  /** The new chunks' bytes as stored (after compression). */
  storedBytes?: number;
}

export class ChunkStore {
  private readonly claimed = new Set<string>();
  private readonly packer: Packer;
  private unindexed: IndexEntry[] = [];
  private packsSinceIndex = 0;
  private lastCheckpoint = Date.now();

  /** `maxHeldSlices`: how many buffer slices the packer may hold for parts in flight (a share of the pool). */
  constructor(
    private readonly storage: Storage, private readonly tuning: Tuning, private readonly known: CompactBlobIndex,
    private readonly totals: ChunkTotals, private readonly report: Reporter, maxHeldSlices: number,
  ) {
    const { minPartSize } = storage.capabilities;
    this.packer = new Packer(storage, {
      packSize: Math.max(tuning.packSize, minPartSize), partSize: Math.max(tuning.partSize, minPartSize),
      partsInFlight: tuning.concurrency, maxHeldSlices, minPartSize,
    }, (pack) => this.packDurable(pack));
  }

  /**
   * Stores chunk `hash` (`length` bytes; `stored`: them, or their `codec` encoding) unless it is stored or
   * claimed already; the lease keeps the stored bytes until packed. The totals count chunk bytes, not stored ones.
   */
  async claim(hash: string, length: number, stored: Uint8Array, lease: Lease, codec?: IndexEntry['codec']): Promise<void> {
    if (this.known.has(hash) || this.claimed.has(hash)) {
      this.totals.dedupBytes += length;
      return;
    }
    this.claimed.add(hash);
    this.totals.newBytes += length;
    this.totals.storedBytes = (this.totals.storedBytes ?? 0) + stored.byteLength;
    await this.packer.add(hash, stored, lease, codec);
  }

  /** Every pack so far durable and indexed: what a manifest page may reference. */
  async barrier(): Promise<void> {
    await this.packer.flush();
    await this.writeCheckpoint();
  }

  /** After a failure: aborts the open pack and indexes the packs that did land (best effort). */
  async abandon(): Promise<void> {
    await this.packer.abort();
    await this.writeCheckpoint().catch(() => undefined);
  }

  private async packDurable(pack: DurablePack): Promise<void> {
    this.totals.packs++;
    for (const e of pack.entries) {
      this.known.set(e.blob, e);
      this.claimed.delete(e.blob); // held only while in flight: the run's memory stays flat however many chunks
    }
    this.unindexed.push(...pack.entries);
    this.report({ type: 'pack.durable', key: pack.key, bytes: pack.bytes, blobs: pack.entries.length });
    if (this.checkpointDue()) await this.writeCheckpoint();
  }

  /**
   * A checkpoint indexes the packs that landed so a killed run's rerun reuses them: after the first pack (a
   * kill early in a long run loses little), then every `checkpointPacks` packs or CHECKPOINT_MS, whichever
   * comes first. (Packs landed after the last checkpoint are found by their trailers: meta/adopt-packs.ts.)
   */
  private checkpointDue(): boolean {
    ++this.packsSinceIndex;
    return this.totals.packs === 1 || this.packsSinceIndex >= this.tuning.checkpointPacks
      || Date.now() - this.lastCheckpoint >= CHECKPOINT_MS;
  }

  private async writeCheckpoint(): Promise<void> {
    if (!this.unindexed.length) return;
    const entries = this.unindexed;
    this.unindexed = [];
    this.packsSinceIndex = 0;
    this.lastCheckpoint = Date.now();
    const key = await writeBlobIndex(this.storage, entries);
    this.report({ type: 'index.written', key, entries: entries.length });
  }
}

/**
 * A dry run's chunk store: counts what `ChunkStore` would store (a chunk neither in the index nor seen before
 * in this run) and what it would deduplicate, and stores nothing. Holds every new chunk's hash for the run.
 */
export class ChunkCounter {
  private readonly seen = new Set<string>();

  constructor(private readonly known: Pick<CompactBlobIndex, 'has'>, private readonly totals: ChunkTotals) {}

  async claim(hash: string, length: number): Promise<void> {
    if (this.known.has(hash) || this.seen.has(hash)) {
      this.totals.dedupBytes += length;
      return;
    }
    this.seen.add(hash);
    this.totals.newBytes += length;
  }

  async barrier(): Promise<void> {}

  async abandon(): Promise<void> {}
}
