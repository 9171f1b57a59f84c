/**
 * `bundle download --delete`: after a download, the destination's entries that the bundle does not have are
 * removed, so the destination mirrors the bundle. Only paths a download's selection matches are touched (an
 * excluded path is never removed, as with rsync). Removal never leaves the destination: every name is reached
 * through directories held open without following links (destination-dirs.ts); a symlink is removed as a
 * link, its target untouched; a directory is removed only once empty (after what is below it), never
 * recursively through anything. Entries that are not files, directories or symlinks (FIFOs, sockets) stay.
 */
import { errnoCode, ioError } from '../errors.js';
import { type Reporter } from '../events.js';
import { displayName, fsPath } from '../fs-path.js';
import { readEntries } from '../meta/manifest.js';
import { walkTree } from '../scan/walk.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, type FileEntry, comparePaths } from '../vocab.js';
import { rmdirSync, unlinkSync } from 'node:fs';
import { DestinationDirs } from './destination-dirs.js';
import type { PathSelector } from './select.js';

/**
 * Removes what `root` holds beyond `bundle` (within `select`); returns how many entries were removed (a
 * directory counts once, and so does each entry removed below it). Reports each as `mirror.removed`.
 * Fails with IO naming an entry that cannot be removed, UNSAFE_PATH for one reached through a link.
 */
export async function removeExtras(storage: Storage, bundle: BundleDescriptor, root: string, select: PathSelector, report: Reporter): Promise<number> {
  const stored = readEntries(storage, bundle.pages);
  let next = await stored.next();
  const inBundle = async (p: string) => {
    while (!next.done && comparePaths(next.value.path, p) < 0) next = await stored.next();
    return !next.done && next.value.path === p;
  };
  const dirs = new DestinationDirs(root, false, false);
  const extraDirs: string[] = []; // the chain of extra directories the walk is inside, to remove once left
  let removed = 0;
  const removeDir = async (p: string) => {
    if (await dirs.at(p, (place) => removeIfEmpty(place.abs, dirs.shown(p)))) {
      removed++;
      report({ type: 'mirror.removed', path: p, entryType: 'dir' });
    }
  };
  try {
    for await (const entry of walkTree(root)) {
      while (extraDirs.length && !entry.path.startsWith(`${extraDirs.at(-1)}/`)) await removeDir(extraDirs.pop()!);
      if (await inBundle(entry.path) || !select.matches(entry.path)) continue;
      if (entry.type === 'dir') {
        extraDirs.push(entry.path);
        continue;
      }
      await dirs.at(entry.path, (place) => removeEntry(place.abs, dirs.shown(entry.path)));
      removed++;
      report({ type: 'mirror.removed', path: entry.path, entryType: entry.type as FileEntry['type'] });
    }
    while (extraDirs.length) await removeDir(extraDirs.pop()!);
  } finally {
    dirs.close();
  }
  return removed;
}

/** Unlinks a file or a link itself (never what it points to); one already gone is fine. */
function removeEntry(abs: string, shown: string): void {
  try {
    unlinkSync(fsPath(abs));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw ioError(displayName(shown), err);
  }
}

/** Removes an empty directory; false when it is not empty (it holds what is kept) or gone. */
function removeIfEmpty(abs: string, shown: string): boolean {
  try {
    rmdirSync(fsPath(abs));
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return false;
    throw ioError(displayName(shown), err);
  }
}
