/**
 * The directories of a restore's destination, held open and used as anchors: every name the restore creates,
 * renames, links or changes is reached as `/proc/self/fd/<dir>/<name>`, where `<dir>` is a descriptor of the
 * real directory opened from its parent's descriptor without following a link (O_PATH|O_NOFOLLOW). A directory
 * swapped for a symlink after it was checked is never followed: writes land in the directory that was checked
 * (inside the destination) or fail; the final attribute pass then refuses the symlink and names it. This is
 * openat() for a runtime that has none; worker threads share the descriptors, so their paths work there too.
 * Without /proc (not Linux) the anchors are plain paths, checked component by component but open to that race.
 */
import { closeSync, constants, existsSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { DatamoverError, errnoCode, ioError } from '../errors.js';
import { displayName, fsPath } from '../fs-path.js';
import { checkManifestPath } from './safe-paths.js';
import { removeStaleTemps } from './temp-names.js';

/** Linux's O_PATH (not in Node's constants): names the directory without needing read permission on it. */
const O_PATH = 0o10000000;
const anchored = process.platform === 'linux' && existsSync('/proc/self/fd');
/** Directories kept open while unused; more are closed oldest first (the root is never closed). */
const IDLE_OPEN = 256;

/** One entry's place in the destination, valid until `release()`: its parent directory is held open meanwhile. */
export interface Place {
  /** The name to pass to the file system (string form of fs-path.ts; through the parent's descriptor). */
  abs: string;
  /** The entry's path for messages: the destination root joined with its manifest path. */
  shown: string;
  release(): void;
}

interface OpenDir { fd: number; refs: number }

export class DestinationDirs {
  private readonly open = new Map<string, OpenDir>();
  /** Open directories nobody holds, oldest first. */
  private readonly idle = new Set<string>();

  /**
   * With `cleanTemps`, each existing directory is rid of stale temp names when first opened (the root included).
   * Without `create`, no directory is made: holding a path whose directory is missing fails with IO (ENOENT).
   */
  constructor(readonly root: string, private readonly cleanTemps = false, private readonly create = true) {
    const fd = anchored ? openSync(fsPath(root), O_PATH | constants.O_DIRECTORY) : -1;
    this.open.set('', { fd, refs: 1 });
    if (cleanTemps) removeStaleTemps(this.dirPath('', fd));
  }

  /** The path of manifest path `rel` under the root, for messages. */
  shown(rel: string): string {
    return path.join(this.root, ...checkManifestPath(rel).split('/'));
  }

  /**
   * Holds the parent directory of `rel` (made, or checked to be a real directory, component by component) and
   * returns the entry's place. Fails with UNSAFE_PATH naming the component that is a symlink or not a directory.
   */
  hold(rel: string): Place {
    checkManifestPath(rel);
    const parent = parentOf(rel);
    const dir = this.holdDir(parent);
    let released = false;
    return {
      abs: path.join(dir, rel.slice(parent ? parent.length + 1 : 0)),
      shown: this.shown(rel),
      release: () => {
        if (!released) this.releaseDir(parent);
        released = true;
      },
    };
  }

  /** Runs `use` with the place of `rel`, held for as long as `use` runs. */
  async at<T>(rel: string, use: (place: Place) => T | Promise<T>): Promise<T> {
    const place = this.hold(rel);
    try {
      return await use(place);
    } finally {
      place.release();
    }
  }

  /** Makes sure every directory of `relDir` exists as a real directory (not a link). '' is the root. */
  ensure(relDir: string): void {
    if (!relDir) return;
    this.holdDir(checkManifestPath(relDir));
    this.releaseDir(relDir);
  }

  /** Closes every descriptor; the places handed out are void after this. */
  close(): void {
    for (const dir of this.open.values()) if (dir.fd >= 0) closeSync(dir.fd);
    this.open.clear();
    this.idle.clear();
  }

  private holdDir(rel: string): string {
    let dir = this.open.get(rel);
    if (!dir) {
      const parent = parentOf(rel);
      const parentPath = this.holdDir(parent);
      try {
        dir = this.openChild(parentPath, rel, parent);
      } finally {
        this.releaseDir(parent);
      }
      this.open.set(rel, dir);
    }
    if (dir.refs++ === 0) this.idle.delete(rel);
    return this.dirPath(rel, dir.fd);
  }

  private releaseDir(rel: string): void {
    const dir = this.open.get(rel);
    if (!dir || --dir.refs > 0 || !rel) return;
    this.idle.add(rel);
    for (const oldest of this.idle) {
      if (this.idle.size <= IDLE_OPEN) break;
      this.idle.delete(oldest);
      const stale = this.open.get(oldest)!;
      this.open.delete(oldest);
      if (stale.fd >= 0) closeSync(stale.fd);
    }
  }

  /** Makes directory `rel` in its held parent (or finds it there) and opens it without following a link. */
  private openChild(parentPath: string, rel: string, parent: string): OpenDir {
    const p = fsPath(path.join(parentPath, rel.slice(parent ? parent.length + 1 : 0)));
    let made = false;
    try {
      if (this.create) {
        mkdirSync(p);
        made = true;
      }
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw ioError(displayName(this.shown(rel)), err);
    }
    const refuse = (what: string) => new DatamoverError('UNSAFE_PATH', `${displayName(rel)} in the destination is ${what}; refusing to write through it`);
    let fd = -1;
    try {
      fd = openSync(p, (anchored ? O_PATH : constants.O_RDONLY) | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = errnoCode(err);
      // O_PATH|O_NOFOLLOW opens a link itself, so O_DIRECTORY fails on it with ENOTDIR, not ELOOP: ask which.
      if (code === 'ELOOP' || code === 'ENOTDIR') throw refuse(isLink(p) ? 'a symlink' : 'not a directory');
      throw ioError(displayName(this.shown(rel)), err);
    }
    if (!anchored) closeSync(fd);
    const dir = { fd: anchored ? fd : -1, refs: 0 };
    if (!made && this.cleanTemps) removeStaleTemps(this.dirPath(rel, dir.fd));
    return dir;
  }

  private dirPath(rel: string, fd: number): string {
    return fd >= 0 ? `/proc/self/fd/${fd}` : rel ? path.join(this.root, ...rel.split('/')) : this.root;
  }
}

function isLink(p: string | Buffer): boolean {
  return lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}

export function parentOf(rel: string): string {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '' : rel.slice(0, cut);
}
