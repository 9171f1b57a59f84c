/**
 * `bundle status`: what differs between a local folder and a bundle, from a walk of the folder merged with the
 * bundle's manifest (both in manifest order; one directory listing and one page in memory at a time). By
 * default a file is compared by size and mtime, as rsync's quick check does; with `checksum`, by content (its
 * chunk list, cut with the bundle's chunker), so a file rewritten with the same size and mtime is found.
 * Nothing is written; no read is logged (no data is read from the store).
 */
import { readEntries } from '../meta/manifest.js';
import { type ScanEntry, walkTree } from '../scan/walk.js';
import type { Storage } from '../storage/storage.js';
import { sameMtime } from '../times.js';
import { type BundleDescriptor, type FileEntry, type FileType, comparePaths } from '../vocab.js';
import { ContentCheck } from './content-check.js';

/**
 * One difference, named from the folder's side: `added` is in the folder only, `removed` in the bundle only,
 * `changed` differs in type, size, link target or (by mtime, or by content with `checksum`) bytes, `meta` only
 * in mode or, with `checksum`, mtime. `size` is the folder's (the bundle's for `removed`).
 */
export interface FolderChange { kind: 'added' | 'removed' | 'changed' | 'meta'; path: string; type: FileType; size: number }

export interface FolderStatusRequest {
  storage: Storage; bundle: BundleDescriptor; dir: string; checksum?: boolean;
  /** Entries of the folder that are not regular files, directories or symlinks (never compared). */
  onSkip?: (s: { path: string; reason: string }) => void;
}

/** The differences in path order. Fails with BAD_INPUT when the folder (or a directory in it) cannot be listed. */
export async function* folderStatus(req: FolderStatusRequest): AsyncGenerator<FolderChange> {
  const check = req.checksum ? new ContentCheck(req.bundle.chunker) : undefined;
  const local = walkTree(req.dir, req.onSkip);
  const stored = readEntries(req.storage, req.bundle.pages);
  let x = await local.next();
  let y = await stored.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : comparePaths(x.value.path, y.value.path);
    if (order < 0) {
      yield { kind: 'added', path: x.value!.path, type: x.value!.type, size: x.value!.size };
      x = await local.next();
    } else if (order > 0) {
      yield { kind: 'removed', path: y.value!.path, type: y.value!.type, size: y.value!.size };
      y = await stored.next();
    } else {
      const kind = compare(x.value!, y.value!, check);
      if (kind) yield { kind, path: x.value!.path, type: x.value!.type, size: x.value!.size };
      x = await local.next();
      y = await stored.next();
    }
  }
}

function compare(local: ScanEntry, entry: FileEntry, check: ContentCheck | undefined): FolderChange['kind'] | undefined {
  if (local.type !== entry.type) return 'changed';
  if (local.type === 'symlink') return local.target === entry.target ? undefined : 'changed';
  const modeDiffers = local.mode !== entry.mode;
  if (local.type === 'dir') return modeDiffers ? 'meta' : undefined; // a directory's mtime moves with its entries
  if (local.size !== entry.size) return 'changed';
  const mtimeDiffers = !sameMtime(local, entry);
  if (!check) return mtimeDiffers ? 'changed' : modeDiffers ? 'meta' : undefined;
  if (!check.matches(local.abs, entry)) return 'changed';
  return mtimeDiffers || modeDiffers ? 'meta' : undefined;
}
