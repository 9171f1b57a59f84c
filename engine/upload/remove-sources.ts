/**
 * The migration move (`bundle upload --remove-source-files`): once a bundle is committed, each of its files is
 * removed from the source only if it is still the version that was hashed — the same size, mtime, inode and
 * ctime (to the nanosecond) that the manifest recorded from the hash workers' checks — and, with an age, only if
 * its mtime is older than that. Every file kept is reported with why (`source.kept`). Only regular files are
 * removed: directories and symlinks stay, as rclone's `move` leaves directories. Paths are reached through
 * directories held open without following links (destination-dirs.ts), so a directory swapped for a link
 * since the upload is never followed. A file rewritten between the last check and the unlink (a window of
 * one system call) is the residual race every such tool has.
 */
import { type BigIntStats, closeSync, constants, fstatSync, lstatSync, openSync, realpathSync, unlinkSync } from 'node:fs';
import { throwIfInterrupted } from '../cancel.js';
import { errnoCode, isDatamoverError } from '../errors.js';
import type { Reporter } from '../events.js';
import { fsPath } from '../fs-path.js';
import { readEntries } from '../meta/manifest.js';
import type { Storage } from '../storage/storage.js';
import { entryMtimeNs } from '../times.js';
import type { BundleDescriptor, FileEntry } from '../vocab.js';
import { DestinationDirs } from '../download/destination-dirs.js';

export interface RemoveSources {
  /** Remove only files whose mtime is older than this many milliseconds (before `now`). */
  olderThanMs?: number;
  /** The time ages are measured from (default: when the removal starts). */
  now?: number;
}

/**
 * What the removal did: files (and their bytes) removed, and how many were kept (each reported), of which
 * `keptRecent` only because they are younger than `olderThanMs` (kept by request, not for a problem).
 */
export interface SourceRemoval { removed: number; removedBytes: number; kept: number; keptRecent: number }

/**
 * Removes the files of committed `bundle` from `source` as described above. Never fails for one file (it is
 * kept and reported); INTERRUPTED when `signal` aborts (the files removed so far stay removed).
 */
export async function removeSources(
  storage: Storage, bundle: BundleDescriptor, source: string, opts: RemoveSources, report: Reporter, signal?: AbortSignal,
): Promise<SourceRemoval> {
  const cutoffNs = opts.olderThanMs === undefined ? undefined : BigInt(Math.floor((opts.now ?? Date.now()) - opts.olderThanMs)) * 1_000_000n;
  const dirs = new DestinationDirs(realpathSync(source), false, false);
  const ctimesAfterUnlink = new Map<number, bigint>();
  const result: SourceRemoval = { removed: 0, removedBytes: 0, kept: 0, keptRecent: 0 };
  try {
    for await (const entry of readEntries(storage, bundle.pages)) {
      throwIfInterrupted(signal);
      if (entry.type !== 'file') continue;
      let reason: string | undefined;
      try {
        reason = await dirs.at(entry.path, (place) => removeIfUnchanged(place.abs, entry, cutoffNs, ctimesAfterUnlink));
      } catch (err) {
        if (!isDatamoverError(err, 'UNSAFE_PATH') && !isDatamoverError(err, 'IO')) throw err;
        reason = `its directory is not reachable: ${err.message}`;
      }
      if (reason === undefined) {
        result.removed++;
        result.removedBytes += entry.size;
      } else {
        result.kept++;
        if (reason === TOO_RECENT) result.keptRecent++;
        report({ type: 'source.kept', path: entry.path, reason });
      }
    }
  } finally {
    dirs.close();
  }
  return result;
}

const TOO_RECENT = 'modified more recently than the age given (--older-than)';

/**
 * Removes the file at `abs` if it is the version `entry` recorded; else returns why it stays. A file with other
 * links: its inode's ctime changes when one of its names is removed, so the ctime seen right after is kept
 * in `ctimes` for the group's other members (anything else changing it since still shows).
 */
function removeIfUnchanged(abs: string, entry: FileEntry, cutoffNs: bigint | undefined, ctimes: Map<number, bigint>): string | undefined {
  const p = fsPath(abs);
  let st: BigIntStats;
  try {
    st = lstatSync(p, { bigint: true });
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? 'no longer there' : `not checked: ${errnoCode(err) ?? (err as Error).message}`;
  }
  if (!st.isFile()) return 'no longer a regular file';
  const changed = differences(st, entry, ctimes.get(Number(st.ino)));
  if (changed.length) return `changed since it was hashed (${changed.join(', ')})`;
  if (cutoffNs !== undefined && st.mtimeNs >= cutoffNs) return TOO_RECENT;
  let fd: number | undefined;
  try {
    if (st.nlink > 1n) fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    unlinkSync(p);
    if (fd !== undefined) ctimes.set(Number(st.ino), fstatSync(fd, { bigint: true }).ctimeNs);
  } catch (err) {
    return `not removed: ${errnoCode(err) ?? (err as Error).message}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}

/** Which of size, mtime, inode and ctime differ from what the manifest recorded (ctime: `ctimeNow` if we changed it). */
function differences(st: BigIntStats, entry: FileEntry, ctimeNow: bigint | undefined): string[] {
  const out: string[] = [];
  if (st.size !== BigInt(entry.size)) out.push('size');
  if (st.mtimeNs !== entryMtimeNs(entry)) out.push('mtime');
  if (entry.ino === undefined || st.ino !== BigInt(entry.ino)) out.push('inode');
  const ctimeSame = ctimeNow !== undefined ? st.ctimeNs === ctimeNow
    : entry.ctimeNs !== undefined ? String(st.ctimeNs) === entry.ctimeNs
      : entry.ctime !== undefined && st.ctimeMs === BigInt(entry.ctime);
  if (!ctimeSame) out.push('ctime');
  return out;
}
