/**
 * The file cache: an upload whose label already points at a bundle (the parent) takes the chunk list of every
 * file that is unchanged since — same size, mtime (to the nanosecond), inode and ctime (to the nanosecond where
 * recorded) — from the parent's manifest instead of reading and hashing the file again. The parent's manifest
 * is merged with the walk (both come in manifest
 * order), one page in memory at a time, so the cache costs no memory per file.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';
import { readEntries } from '../meta/manifest.js';
import { sameMtime } from '../times.js';
import type { ScanEntry } from '../scan/walk.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, type FileEntry, comparePaths } from '../vocab.js';
import type { KnownFile } from './jobs.js';

export class ParentFiles {
  private readonly entries: AsyncGenerator<FileEntry>;
  private current: FileEntry | undefined;
  private started = false;
  private done = false;

  constructor(storage: Storage, parent: BundleDescriptor, private readonly known: Pick<CompactBlobIndex, 'has'>) {
    this.entries = readEntries(storage, parent.pages);
  }

  /**
   * The parent's chunks for `entry` when it is an unchanged file whose chunks are all in the store; else
   * undefined. Calls must come in manifest order (the walk's). Times are compared to the nanosecond where the
   * parent recorded them (`ctimeNs`, against the walk's exact ctime), so a rewrite within the same millisecond
   * is not taken as unchanged.
   */
  async unchanged(entry: ScanEntry): Promise<KnownFile | undefined> {
    if (entry.type !== 'file') return undefined;
    const before = await this.advanceTo(entry.path);
    if (!before || before.type !== 'file' || before.size !== entry.size || !sameMtime(before, entry)) return undefined;
    if (before.ino !== entry.ino || before.ctime !== entry.ctime || !before.chunks) return undefined;
    if (!before.chunks.every(([hash]) => this.known.has(hash))) return undefined;
    if (before.ctimeNs === undefined) return { chunks: before.chunks };
    return entry.ctimeNs === before.ctimeNs ? { chunks: before.chunks, ctimeNs: before.ctimeNs } : undefined;
  }

  private async advanceTo(path: string): Promise<FileEntry | undefined> {
    if (!this.started) {
      this.started = true;
      await this.next();
    }
    while (!this.done && comparePaths(this.current!.path, path) < 0) await this.next();
    return !this.done && this.current!.path === path ? this.current : undefined;
  }

  private async next(): Promise<void> {
    const r = await this.entries.next();
    this.done = !!r.done;
    this.current = r.done ? undefined : r.value;
  }
}
