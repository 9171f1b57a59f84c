/**
 * A run's entries in scan order: each waits until every chunk of it is hashed and stored, then goes to the
 * manifest in the order the walk produced it, or, when it could not be read whole (with skipOnError), to the
 * skipped files, reported.
 */
import { type ReadFailure, stampCtimeNs } from '../../workers/hash-ranges.js';
import type { Reporter } from '../events.js';
import type { ManifestWriter } from '../meta/manifest.js';
import type { ScanEntry } from '../scan/walk.js';
import type { ChunkRef, FileEntry } from '../vocab.js';

/**
 * `chunks[i]`: the chunks of the file's i-th planned range (one, or several with content-defined chunking).
 * `stamp`: the file version (`stampOf`) its ranges were read from; `ctimeNs`: the exact ctime the parent
 * recorded, for a file taken from the file cache.
 */
export interface PendingEntry { entry: ScanEntry; chunks: ChunkRef[][]; remaining: number; skipped?: string; stamp?: string; ctimeNs?: string }

/** A file left out of the bundle with --skip-on-error, and why. */
export interface SkippedFile { path: string; reason: string }

export class EntryOrder {
  readonly skipped: SkippedFile[] = [];
  /** The most entries ever waiting at once. */
  maxPending = 0;
  private readonly pending = new Map<number, PendingEntry>();
  private head = 0;

  constructor(
    private readonly manifest: Pick<ManifestWriter, 'add'>, private readonly totals: { files: number; bytes: number },
    private readonly report: Reporter,
  ) {}

  /** Entries waiting for chunks or for an earlier entry. */
  get size(): number {
    return this.pending.size;
  }

  /** Entry number `seq` of the walk, waiting for its chunks. */
  add(seq: number, state: PendingEntry): void {
    this.pending.set(seq, state);
    this.maxPending = Math.max(this.maxPending, this.pending.size);
  }

  /** The waiting entry number `seq` (it must be waiting). */
  get(seq: number): PendingEntry {
    return this.pending.get(seq)!;
  }

  /** Emits the finished entries at the head to the manifest, in scan order. */
  async drain(): Promise<void> {
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
}

/**
 * A file is stored only if every one of its ranges was read from one version: the same stamp, which the worker
 * checked before and after each range and against the scan. A range of another version (the file was rewritten
 * between two ranges read by different tasks, even with the same size) fails the file as CHANGED.
 */
export function otherVersion(state: PendingEntry, stamp: string, abs: string): ReadFailure | undefined {
  if (state.stamp === undefined) state.stamp = stamp;
  return state.stamp === stamp ? undefined : { code: 'CHANGED', abs, message: 'file changed while being read' };
}

export function reasonOf(failure: ReadFailure): string {
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
