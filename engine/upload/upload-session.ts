/**
 * One upload run's moving parts: dispatches chunk jobs to the hash stage, claims each hashed chunk in the
 * dedup index (only the claimer packs it), hands new chunks to the packer, and emits finished entries to the
 * manifest in scan order. Manifest pages and indexes wait for their packs: a page is written only after every
 * pack it may reference is durable and indexed (DESIGN §6).
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import type { CdcParams } from '../../workers/fastcdc.js';
import { type HashOutcome, type ReadFailure, stampCtimeNs } from '../../workers/hash-ranges.js';
import { interruptedError } from '../cancel.js';
import { badInput } from '../errors.js';
import { displayName } from '../fs-path.js';
import type { Reporter } from '../events.js';
import { writeBlobIndex } from '../meta/blob-index.js';
import type { ManifestWriter } from '../meta/manifest.js';
import type { EntryItem, JobItem } from '../plan/jobs.js';
import type { ScanEntry } from '../scan/walk.js';
import type { Storage } from '../storage/storage.js';
import type { ChunkRef, ChunkerSpec, FileEntry, IndexEntry } from '../vocab.js';
import type { BufferPool } from '../runtime/buffer-pool.js';
import type { HashStage } from './hash-stage.js';
import { type DurablePack, type Lease, Packer } from './packer.js';

export interface Tuning {
  chunkSize: number;
  bufferSize: number;
  maxRangesPerJob: number;
  workers: number;
  concurrency: number;
  budgetBytes: number;
  packSize: number;
  partSize: number;
  pageSize: number;
  checkpointPacks: number;
  /** A file that cannot be read (vanished, unreadable, changed while read) is left out and reported, not fatal. */
  skipOnError?: boolean;
  /** Content-defined chunking within each planned range (`chunkSize` is then the range, a segment). */
  cdc?: CdcParams;
}

const MiB = 1024 * 1024;

/** The longest a durable pack waits for its index checkpoint (unless no other pack lands meanwhile). */
const CHECKPOINT_MS = 10_000;

/** Entries held for the manifest before the walk waits: about 8 MiB of scan entries and chunk lists. */
const MAX_PENDING_ENTRIES = 8192;

/** Defaults, each a starting point for bench/ to settle (DESIGN marks them "tune"). */
export function resolveTuning(overrides: Partial<Tuning> | undefined, chunker: ChunkerSpec): Tuning {
  const chunkSize = chunker.kind === 'fastcdc' ? chunker.segment : chunker.size;
  const t: Tuning = {
    chunkSize, bufferSize: chunkSize, maxRangesPerJob: 1024, workers: 0, concurrency: 4,
    // budget 128 MiB: on 20k × 64 KiB files peak RSS 283 MiB against 410 at 256 MiB, at the same speed.
    budgetBytes: 128 * MiB, packSize: 64 * MiB, partSize: 16 * MiB, pageSize: 10_000, checkpointPacks: 4,
    ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)),
  };
  t.bufferSize = t.chunkSize;
  if (chunker.kind === 'fastcdc') t.cdc = { min: chunker.min, avg: chunker.avg, max: chunker.max };
  return t;
}

/**
 * `chunks[i]`: the chunks of the file's i-th planned range (one, or several with content-defined chunking).
 * `stamp`: the file version (`stampOf`) its ranges were read from; `ctimeNs`: the exact ctime the parent
 * recorded, for a file taken from the file cache.
 */
interface PendingEntry { entry: ScanEntry; chunks: ChunkRef[][]; remaining: number; skipped?: string; stamp?: string; ctimeNs?: string }

/** A file left out of the bundle with --skip-on-error, and why. */
export interface SkippedFile { path: string; reason: string }

export class UploadSession {
  readonly totals = { files: 0, bytes: 0, newBytes: 0, dedupBytes: 0, unchangedBytes: 0, packs: 0 };
  readonly skipped: SkippedFile[] = [];
  readonly hashThreads = new Set<number>();
  private readonly pending = new Map<number, PendingEntry>();
  private head = 0;
  private readonly claimed = new Set<string>();
  private readonly packer: Packer;
  private unindexed: IndexEntry[] = [];
  private packsSinceIndex = 0;
  private lastCheckpoint = Date.now();
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private handling: Promise<void> = Promise.resolve();
  private failure: unknown;
  private lastProgress = 0;
  /** The most entries ever waiting for the manifest at once (bounded by MAX_PENDING_ENTRIES plus one job's worth). */
  maxPending = 0;
  private bytesHashed = 0;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly storage: Storage, private readonly tuning: Tuning,
    private readonly known: CompactBlobIndex, private readonly hashStage: HashStage,
    private readonly pool: BufferPool, private readonly manifest: ManifestWriter, private readonly report: Reporter,
  ) {
    const { minPartSize } = storage.capabilities;
    this.packer = new Packer(storage, {
      packSize: Math.max(tuning.packSize, minPartSize), partSize: Math.max(tuning.partSize, minPartSize),
      partsInFlight: tuning.concurrency, maxHeldSlices: Math.max(8, Math.floor(pool.capacity / 4)), minPartSize,
    }, (pack) => this.packDurable(pack));
    manifest.beforePage = () => this.barrier();
  }

  /**
   * Runs every planned item through the pipeline. Throws the first failure. Once `signal` is aborted no item is
   * taken (the walk stops) and none dispatched: the jobs in flight settle, then INTERRUPTED is thrown.
   */
  async run(items: AsyncIterable<EntryItem | JobItem>, signal?: AbortSignal): Promise<void> {
    this.signal = signal;
    for await (const item of items) {
      if (signal?.aborted) this.failure ??= interruptedError();
      if (this.failure) break;
      if (item.kind === 'entry') {
        const { known } = item;
        this.pending.set(item.seq, {
          entry: item.entry, chunks: known ? [known.chunks] : new Array(item.chunkCount), remaining: item.chunkCount,
          ...(known?.ctimeNs !== undefined ? { ctimeNs: known.ctimeNs } : {}),
        });
        if (item.known) this.totals.unchangedBytes += item.entry.size;
        if (item.chunkCount === 0) this.chain(() => this.drain());
        this.maxPending = Math.max(this.maxPending, this.pending.size);
        await this.keepPendingBounded();
      } else {
        await this.dispatch(item);
      }
    }
    await this.settle();
    if (this.failure) throw this.failure;
    await this.barrier();
  }

  /**
   * Entries wait in `pending` until the manifest takes them in order. The walk must not run ahead of that
   * without bound (an unchanged tree needs no hashing, so nothing else would slow it): past
   * MAX_PENDING_ENTRIES, wait for queued drains and in-flight hash jobs. Never waits on work not yet
   * dispatched, which only this loop can dispatch.
   */
  private async keepPendingBounded(): Promise<void> {
    if (this.pending.size < MAX_PENDING_ENTRIES) return;
    await this.handling;
    while (this.pending.size >= MAX_PENDING_ENTRIES && this.inFlight > 0 && !this.failure) {
      await new Promise<void>((r) => this.slotWaiters.push(r));
      await this.handling;
    }
  }

  /** After a failure: lets in-flight work settle, aborts the open pack, indexes the packs that did land. */
  async abandon(): Promise<void> {
    await this.settle();
    await this.packer.abort();
    await this.writeCheckpoint().catch(() => undefined);
  }

  private async dispatch(job: JobItem): Promise<void> {
    const buffer = await this.pool.acquire();
    while (this.inFlight >= this.hashStage.depth) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.inFlight++;
    this.hashStage.run({ buffer, ranges: job.ranges, ...(this.tuning.cdc ? { cdc: this.tuning.cdc } : {}) }, this.signal).then(
      (outcome) => this.chain(() => this.handle(job, outcome), () => this.pool.release(outcome.buffer)),
      (err) => { this.pool.forget(); this.failure ??= err; },
    ).finally(() => {
      this.inFlight--;
      this.slotWaiters.shift()?.();
    });
  }

  /** Queues `step` after the steps before it; after a failure it is `skipped` instead (say, to free its buffer). */
  private chain(step: () => Promise<void>, skipped?: () => void): void {
    this.handling = this.handling.then(async () => {
      if (this.failure) return skipped?.();
      try { await step(); } catch (err) { this.failure ??= err; }
    });
  }

  private async settle(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.slotWaiters.push(r));
    await this.handling;
  }

  private async handle(job: JobItem, outcome: HashOutcome): Promise<void> {
    const lease = this.lease(outcome.buffer);
    try {
      const failed = new Map((outcome.failures ?? []).map((f) => [f.index, f]));
      if (outcome.failures?.length !== job.ranges.length) this.hashThreads.add(outcome.threadId);
      const view = new Uint8Array(outcome.buffer);
      let at = 0;
      for (let i = 0; i < job.ranges.length; i++) {
        const hash = outcome.digests[i]!;
        const length = job.ranges[i]!.length;
        const state = this.pending.get(job.refs[i]!.seq)!;
        const failure = failed.get(i) ?? otherVersion(state, outcome.stamps[i]!, job.ranges[i]!.abs);
        if (failure && !this.tuning.skipOnError) throw badInput(`cannot read ${displayName(failure.abs)}: ${reasonOf(failure)}`);
        if (failure) state.skipped ??= reasonOf(failure);
        // A skipped file's chunks are not stored (any claimed before it failed stay as unreferenced pack bytes).
        else if (!state.skipped) {
          const pieces = outcome.chunks?.[i] ?? [[hash, length]];
          let offset = at;
          for (const [pieceHash, pieceLength] of pieces) {
            await this.claim(pieceHash, view.subarray(offset, offset + pieceLength), lease);
            offset += pieceLength;
          }
          state.chunks[job.refs[i]!.chunk] = pieces;
        }
        at += length;
        state.remaining--;
      }
      this.bytesHashed += job.bytes;
    } finally {
      lease.release();
    }
    await this.drain();
    this.progress();
  }

  /** Dedup: a chunk already stored or already claimed in this run is referenced, not packed again. */
  private async claim(hash: string, data: Uint8Array, lease: Lease): Promise<void> {
    if (this.known.has(hash) || this.claimed.has(hash)) {
      this.totals.dedupBytes += data.byteLength;
      return;
    }
    this.claimed.add(hash);
    this.totals.newBytes += data.byteLength;
    await this.packer.add(hash, data, lease);
  }

  private lease(buffer: ArrayBuffer): Lease {
    let refs = 1;
    return {
      retain: () => { refs++; },
      release: () => { if (--refs === 0) this.pool.release(buffer); },
    };
  }

  /** Emits finished entries to the manifest in scan order. */
  private async drain(): Promise<void> {
    for (let st = this.pending.get(this.head); st && st.remaining === 0; st = this.pending.get(this.head)) {
      if (st.skipped) {
        this.skipped.push({ path: st.entry.path, reason: st.skipped });
        this.report({ type: 'scan.skip', path: st.entry.path, reason: st.skipped });
        this.pending.delete(this.head++);
        continue;
      }
      await this.manifest.add(toFileEntry(st));
      if (st.entry.type === 'file') this.totals.files++;
      this.totals.bytes += st.entry.size;
      this.pending.delete(this.head++);
    }
  }

  /** Every pack so far durable and indexed: what a manifest page may reference. */
  private async barrier(): Promise<void> {
    await this.packer.flush();
    await this.writeCheckpoint();
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

  private progress(): void {
    const now = Date.now();
    if (now - this.lastProgress < 200) return;
    this.lastProgress = now;
    const { files, newBytes, dedupBytes } = this.totals;
    this.report({ type: 'upload.progress', filesDone: files, bytesHashed: this.bytesHashed, newBytes, dedupBytes });
  }
}

/**
 * A file is stored only if every one of its ranges was read from one version: the same stamp, which the worker
 * checked before and after each range and against the scan. A range of another version (the file was rewritten
 * between two ranges read by different tasks, even with the same size) fails the file as CHANGED.
 */
function otherVersion(state: PendingEntry, stamp: string, abs: string): ReadFailure | undefined {
  if (state.stamp === undefined) state.stamp = stamp;
  return state.stamp === stamp ? undefined : { code: 'CHANGED', abs, message: 'file changed while being read' };
}

function reasonOf(failure: ReadFailure): string {
  return failure.code === 'CHANGED' ? failure.message : `${failure.code}: ${failure.message}`;
}

function toFileEntry({ entry, chunks, stamp, ctimeNs }: PendingEntry): FileEntry {
  const out: FileEntry = { path: entry.path, type: entry.type, size: entry.size, mode: entry.mode, mtime: entry.mtime };
  if (entry.mtimeNanos) out.mtimeNanos = entry.mtimeNanos;
  if (entry.target !== undefined) out.target = entry.target;
  if (entry.linkGroup !== undefined) out.hardlink = entry.linkGroup;
  if (entry.xattrs) out.xattrs = entry.xattrs;
  if (entry.type === 'file') Object.assign(out, { chunks: chunks.flat(), ino: entry.ino, ctime: entry.ctime });
  const exactCtime = stamp === undefined ? ctimeNs : stampCtimeNs(stamp);
  if (entry.type === 'file' && exactCtime !== undefined) out.ctimeNs = exactCtime;
  return out;
}
