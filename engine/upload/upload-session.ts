/**
 * One upload run's flow: takes the planned items in scan order, dispatches chunk jobs to the hash stage, hands
 * each hashed chunk to the chunk store (dedup, packs, index checkpoints) and each finished entry to the entry
 * order (the manifest, in scan order). Manifest pages wait for the chunk store's barrier (DESIGN §6); the
 * caller passes that barrier to the manifest writer.
 */
import { type HashOutcome } from '../../workers/hash-ranges.js';
import { interruptedError } from '../cancel.js';
import { badInput } from '../errors.js';
import { displayName } from '../fs-path.js';
import type { Reporter } from '../events.js';
import type { EntryItem, JobItem } from '../plan/jobs.js';
import type { BufferPool } from '../runtime/buffer-pool.js';
import type { ChunkStore } from './chunk-store.js';
import { type EntryOrder, otherVersion, reasonOf } from './entry-order.js';
import type { HashStage } from './hash-stage.js';
import type { Lease } from './packer.js';
import type { Tuning } from './tuning.js';

/** Entries held for the manifest before the walk waits: about 8 MiB of scan entries and chunk lists. */
const MAX_PENDING_ENTRIES = 8192;

/** What a run counts (the chunk store and the entry order add to it too). */
export interface UploadTotals { files: number; bytes: number; newBytes: number; storedBytes?: number; dedupBytes: number; unchangedBytes: number; packs: number }

export class UploadSession {
  readonly hashThreads = new Set<number>();
  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private handling: Promise<void> = Promise.resolve();
  private failure: unknown;
  private lastProgress = 0;
  private bytesHashed = 0;
  private signal: AbortSignal | undefined;

  constructor(
    private readonly tuning: Tuning, private readonly chunks: Pick<ChunkStore, 'claim' | 'barrier' | 'abandon'>, private readonly entries: EntryOrder,
    private readonly hashStage: HashStage, private readonly pool: BufferPool, private readonly totals: UploadTotals,
    private readonly report: Reporter,
  ) {}

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
        const { known } = item.entry;
        this.entries.add(item.seq, {
          entry: item.entry, chunks: known ? [known.chunks] : new Array(item.chunkCount), remaining: item.chunkCount,
          ...(known?.ctimeNs !== undefined ? { ctimeNs: known.ctimeNs } : {}),
        });
        if (known) this.totals.unchangedBytes += item.entry.size;
        if (item.chunkCount === 0) this.chain(() => this.entries.drain());
        await this.keepPendingBounded();
      } else {
        await this.dispatch(item);
      }
    }
    await this.settle();
    if (this.failure) throw this.failure;
    await this.chunks.barrier();
    this.progress(true);
  }

  /**
   * Entries wait in `pending` until the manifest takes them in order. The walk must not run ahead of that
   * without bound (an unchanged tree needs no hashing, so nothing else would slow it): past
   * MAX_PENDING_ENTRIES, wait for queued drains and in-flight hash jobs. Never waits on work not yet
   * dispatched, which only this loop can dispatch.
   */
  private async keepPendingBounded(): Promise<void> {
    if (this.entries.size < MAX_PENDING_ENTRIES) return;
    await this.handling;
    while (this.entries.size >= MAX_PENDING_ENTRIES && this.inFlight > 0 && !this.failure) {
      await new Promise<void>((r) => this.slotWaiters.push(r));
      await this.handling;
    }
  }

  /** After a failure: lets in-flight work settle, aborts the open pack, indexes the packs that did land. */
  async abandon(): Promise<void> {
    await this.settle();
    await this.chunks.abandon();
  }

  private async dispatch(job: JobItem): Promise<void> {
    const buffer = await this.pool.acquire();
    while (this.inFlight >= this.hashStage.depth) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.inFlight++;
    const { cdc, zstdLevel } = this.tuning;
    this.hashStage.run({ buffer, ranges: job.ranges, ...(cdc ? { cdc } : {}), ...(zstdLevel ? { zstdLevel } : {}) }, this.signal).then(
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
        const state = this.entries.get(job.refs[i]!.seq);
        const failure = failed.get(i) ?? otherVersion(state, outcome.stamps[i]!, job.ranges[i]!.abs);
        if (failure && !this.tuning.skipOnError) throw badInput(`cannot read ${displayName(failure.abs)}: ${reasonOf(failure)}`);
        if (failure) state.skipped ??= reasonOf(failure);
        // A skipped file's chunks are not stored (any claimed before it failed stay as unreferenced pack bytes).
        else if (!state.skipped) {
          const pieces = outcome.chunks?.[i] ?? [[hash, length]];
          let offset = at;
          for (const [n, [pieceHash, pieceLength]] of pieces.entries()) {
            // A compressed chunk's zstd frame sits at the chunk's start (workers/compress-pieces.ts).
            const frame = outcome.stored?.[i]?.[n] ?? 0;
            const stored = view.subarray(offset, offset + (frame || pieceLength));
            await this.chunks.claim(pieceHash, pieceLength, stored, lease, frame ? 'zstd' : undefined);
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
    await this.entries.drain();
    this.progress();
  }

  private lease(buffer: ArrayBuffer): Lease {
    let refs = 1;
    return {
      retain: () => { refs++; },
      release: () => { if (--refs === 0) this.pool.release(buffer); },
    };
  }

  /** At most every 200 ms, unless `final`: the last one, so the run's progress ends at its totals. */
  private progress(final = false): void {
    const now = Date.now();
    if (now - this.lastProgress < 200 && !final) return;
    this.lastProgress = now;
    const { files, newBytes, dedupBytes, unchangedBytes } = this.totals;
    this.report({ type: 'upload.progress', filesDone: files, bytesHashed: this.bytesHashed, newBytes, dedupBytes, unchangedBytes });
  }
}
