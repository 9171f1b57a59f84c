/**
 * Keeps every write inside the destination: manifest paths are checked before use (directories are held open by
 * destination-dirs.ts), and modes and times are set through file descriptors opened without following links.
 */
import {
  chmodSync, closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, type Stats, utimesSync,
} from 'node:fs';
import { DatamoverError, errnoCode, ioError } from '../errors.js';
import { displayName, fsPath, isCanonicalName } from '../fs-path.js';
import { setFdTimes, utimeArg } from '../../workers/set-times.js';

/**
 * Returns `rel` if it is a safe manifest path; fails with UNSAFE_PATH otherwise. Besides escapes (`..`, absolute,
 * NUL, empty components), a path no walk can produce is refused: one holding a lone surrogate that stands for no
 * byte, or escaped bytes that spell valid UTF-8 (a second spelling of another path's bytes).
 */
export function checkManifestPath(rel: string): string {
  const bad = !rel || rel.startsWith('/') || rel.includes('\0') || rel.split('/').some((s) => s === '' || s === '.' || s === '..')
    || !isCanonicalName(rel);
  if (bad) throw new DatamoverError('UNSAFE_PATH', `manifest path ${JSON.stringify(rel)} is not a safe relative path`);
  return rel;
}

/**
 * Sets the mode and mtime of the file or directory at `abs` (manifest path `rel`) without following a link:
 * through a descriptor opened with O_NOFOLLOW (O_DIRECTORY too for a directory), after an lstat says the entry
 * is of the expected type, and checked to be that same inode. Anything else there (a link, another type) is
 * refused with UNSAFE_PATH naming `rel`, and nothing is changed. With `accept`, the descriptor's fstat must also
 * pass it (e.g. the recorded size, no link outside the destination): else nothing is changed and false returned.
 */
export function setAttributesNoFollow(
  { abs, shown }: { abs: string; shown: string }, rel: string, type: 'file' | 'dir', mode: number, mtimeNs: bigint, accept?: (st: Stats) => boolean,
): boolean {
  const p = fsPath(abs);
  const refuse = (what: string) => new DatamoverError('UNSAFE_PATH',
    `${displayName(rel)} in the destination is ${what}, not the ${type === 'dir' ? 'directory' : 'file'} of the bundle; refusing to change it`);
  let before: Stats;
  try {
    before = lstatSync(p);
  } catch (err) {
    throw ioError(displayName(shown), err);
  }
  if (before.isSymbolicLink()) throw refuse('a symlink');
  if (type === 'dir' ? !before.isDirectory() : !before.isFile()) throw refuse('of another type');
  const handle = openNoFollow(p, type, shown, refuse);
  try {
    const st = fstatSync(handle.fd);
    if (st.ino !== before.ino || st.dev !== before.dev) throw refuse('an entry that was replaced while being changed');
    if (accept && !accept(st)) return false;
    if (handle.proc) {
      chmodSync(handle.proc, mode & 0o7777);
      utimesSync(handle.proc, utimeArg(mtimeNs), utimeArg(mtimeNs)); // the rare unreadable entry: to the µs
    } else {
      fchmodSync(handle.fd, mode & 0o7777);
      setFdTimes(handle.fd, mtimeNs);
    }
    return true;
  } catch (err) {
    throw err instanceof DatamoverError ? err : ioError(displayName(shown), err);
  } finally {
    closeSync(handle.fd);
  }
}

/** Linux's O_PATH (not in Node's constants): a descriptor that names an inode without reading it. */
const O_PATH = 0o10000000;

/**
 * Opens `p` without following a link. An entry we may not read (mode 0 and not root) is opened with O_PATH
 * instead, and changed through /proc/self/fd, which names that inode and no path (Linux only).
 */
function openNoFollow(p: string | Buffer, type: 'file' | 'dir', shown: string, refuse: (what: string) => Error): { fd: number; proc?: string } {
  const kind = type === 'dir' ? constants.O_DIRECTORY : 0;
  try {
    return { fd: openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | kind) };
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ELOOP') throw refuse('a symlink');
    if (code === 'ENOTDIR') throw refuse('of another type');
    if (code !== 'EACCES' || process.platform !== 'linux') throw ioError(displayName(shown), err);
  }
  try {
    const fd = openSync(p, O_PATH | constants.O_NOFOLLOW | kind);
    return { fd, proc: `/proc/self/fd/${fd}` };
  } catch (err) {
    throw ioError(displayName(shown), err);
  }
}
