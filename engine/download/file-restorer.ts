/**
 * Restores file contents: chunks are gathered into batches, read from packs with coalesced ranged GETs,
 * verified against their hash, and written at their offset into a temp file beside the target. A file
 * appears under its final name only complete: fsync, mode and mtime set, then rename.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { integrityError, ioError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { BlobLocation, FileEntry } from '../vocab.js';
import { coalesce, type Piece } from './fetch-plan.js';
import { readPieces } from './read-pieces.js';

interface FileJob {
  entry: FileEntry; abs: string; tmp: string; handle?: Promise<fsp.FileHandle>; remaining: number;
  /** Set when a chunk of the file was bad (with keepGoing): the file is never renamed into place. */
  damaged?: string;
}

/** A file not restored because its stored bytes are damaged or missing. */
export interface DamagedFile { path: string; reason: string }
interface Target { job: FileJob; fileOffset: number }

export interface RestoreCounters { files: number; bytes: number }

export class FileRestorer {
  readonly done: RestoreCounters = { files: 0, bytes: 0 };
  readonly damaged: DamagedFile[] = [];
  private batch: Piece<Target>[] = [];
  private batchBytes = 0;
  private readonly running = new Set<Promise<void>>();
  /** Files being made durable and renamed: many at once, so the filesystem batches their fsyncs. */
  private readonly finalizing = new Set<Promise<void>>();
  private readonly unfinished = new Set<FileJob>();
  private failure: unknown;

  constructor(
    private readonly storage: Storage, private readonly index: Map<string, BlobLocation>,
    private readonly opts: { concurrency: number; batchBytes: number; keepGoing?: boolean },
  ) {}

  /** Queues `entry` for restore to `abs`. Fails with INTEGRITY when a chunk is in no index. */
  async add(entry: FileEntry, abs: string): Promise<void> {
    if (this.failure) throw this.failure;
    const chunks = entry.chunks ?? [];
    const job: FileJob = { entry, abs, tmp: tempNameFor(abs), remaining: chunks.length };
    this.unfinished.add(job);
    if (!chunks.length) return this.finalizeSoon(job);
    let fileOffset = 0;
    for (const [hash, length] of chunks) {
      const location = this.index.get(hash);
      if (!location) {
        const err = integrityError(`${entry.path}: chunk ${hash.slice(0, 12)} is missing from the store`);
        if (!this.opts.keepGoing) throw err;
        await this.markDamaged(job, err.message, chunks.length);
        return;
      }
      this.batch.push({ hash, location, target: { job, fileOffset } });
      fileOffset += length;
      this.batchBytes += length;
      if (this.batchBytes >= this.opts.batchBytes) await this.dispatch();
    }
  }

  /** Restores what is queued; on failure removes every temp file and throws the first error. */
  async finish(): Promise<void> {
    await this.dispatch();
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.finalizing]);
    if (this.failure) {
      await this.cleanup();
      throw this.failure;
    }
  }

  async cleanup(): Promise<void> {
    for (const job of this.unfinished) {
      await job.handle?.then((h) => h.close()).catch(() => undefined);
      await fsp.rm(job.tmp, { force: true });
    }
  }

  private async dispatch(): Promise<void> {
    if (!this.batch.length) return;
    const pieces = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    while (this.running.size >= this.opts.concurrency) await Promise.race(this.running);
    if (this.failure) throw this.failure;
    const run = this.restoreBatch(pieces).catch((err) => { this.failure ??= err; });
    this.running.add(run);
    run.finally(() => this.running.delete(run));
  }

  private async restoreBatch(pieces: Piece<Target>[]): Promise<void> {
    for (const read of coalesce(pieces)) {
      for (const checked of await readPieces(this.storage, read)) {
        const { target, hash } = checked.piece;
        if (checked.damage === undefined) {
          await this.write(target, checked.blob);
          continue;
        }
        const message = `${target.job.entry.path}: chunk ${hash.slice(0, 12)} ${checked.damage}`;
        if (!this.opts.keepGoing) throw integrityError(message);
        await this.markDamaged(target.job, message, 1);
      }
    }
  }

  private async markDamaged(job: FileJob, reason: string, chunks: number): Promise<void> {
    if (!job.damaged) {
      job.damaged = reason;
      this.damaged.push({ path: job.entry.path, reason });
    }
    job.remaining -= chunks;
    if (job.remaining <= 0) await this.finalize(job);
  }

  /** Writes a verified chunk into the file's temp file. Fails with IO naming the file (ENOSPC, EACCES, ...). */
  private async write({ job, fileOffset }: Target, blob: Uint8Array): Promise<void> {
    try {
      job.handle ??= fsp.open(job.tmp, 'wx', 0o600);
      const fh = await job.handle;
      let written = 0;
      while (written < blob.length) {
        const { bytesWritten } = await fh.write(blob, written, blob.length - written, fileOffset + written);
        written += bytesWritten;
      }
    } catch (err) {
      throw ioError(job.abs, err);
    }
    this.done.bytes += blob.length;
    if (--job.remaining === 0) await this.finalizeSoon(job);
  }

  /**
   * Starts finalizing `job` and returns once fewer than FINALIZING_LIMIT are in flight. Measured here (ext4,
   * 64 KiB files): fsync one at a time 0.73 ms a file, 32 at once 0.41 ms.
   */
  private async finalizeSoon(job: FileJob): Promise<void> {
    const done = this.finalize(job).catch((err) => { this.failure ??= err; });
    this.finalizing.add(done);
    void done.finally(() => this.finalizing.delete(done));
    while (this.finalizing.size >= FINALIZING_LIMIT) await Promise.race(this.finalizing);
    if (this.failure) throw this.failure;
  }

  private async finalize(job: FileJob): Promise<void> {
    if (job.damaged) {
      // Nothing damaged is ever written under its final name.
      await job.handle?.then((h) => h.close()).catch(() => undefined);
      await fsp.rm(job.tmp, { force: true });
      this.unfinished.delete(job);
      return;
    }
    try {
      // Through the open handle: no path lookups, and one fsync covers data, mode and times.
      const fh = await (job.handle ?? fsp.open(job.tmp, 'wx', 0o600));
      try {
        await fh.chmod(job.entry.mode & 0o7777);
        const mtime = job.entry.mtime / 1000;
        await fh.utimes(mtime, mtime);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(job.tmp, job.abs);
    } catch (err) {
      throw ioError(job.abs, err);
    }
    this.unfinished.delete(job);
    this.done.files++;
  }
}

const FINALIZING_LIMIT = 64;

function tempNameFor(abs: string): string {
  return path.join(path.dirname(abs), `.${path.basename(abs).slice(0, 100)}.dm-${randomBytes(6).toString('hex')}`);
}
