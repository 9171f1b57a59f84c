/**
 * FUSE operations over a BundleReader (the callback shapes of fuse-native): attributes, listings, symlinks and
 * extended attributes from the manifest, file bytes through the reader. Read-only: every call that would change
 * the tree fails with EROFS. A damaged chunk fails that read with EIO (the reader has emitted the warning);
 * an unknown path is ENOENT. Kernel-side errors are negative errno values, as fuse-native expects.
 */
import { constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { isDatamoverError, notFound } from '../errors.js';
import { bytesOf, nameFromBytes } from '../fs-path.js';
import type { BundleReader, ReaderEntry } from './bundle-reader.js';

const E = constants.errno;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const O_ACCMODE = 3;

/** Attributes as fuse-native takes them (times as milliseconds since the epoch, which it takes as Dates do). */
export interface FuseStat {
  mode: number; uid: number; gid: number; size: number; nlink: number; blocks: number; blksize: number;
  mtime: number; atime: number; ctime: number;
}

/** Attributes of listed entries kept for the lookups that follow a listing (each a few hundred bytes). */
export const LISTED_KEPT = 65_536;

/**
 * The attributes a listing just produced, by kernel path: the kernel looks up every name it listed (`find`,
 * `ls -l`), and answering those from here spares a manifest seek and its promise chain per name. Oldest listed
 * dropped first past `max`. A bundle never changes, so what is kept is never stale.
 */
export class ListedAttrs {
  private readonly stats = new Map<string, FuseStat>();

  constructor(private readonly max = LISTED_KEPT) {}

  get(kernelPath: string): FuseStat | undefined {
    return this.stats.get(kernelPath);
  }

  add(kernelPath: string, stat: FuseStat): void {
    this.stats.set(kernelPath, stat);
    if (this.stats.size > this.max) this.stats.delete(this.stats.keys().next().value!);
  }
}

type Callback = (code: number, ...values: unknown[]) => void;

export interface FuseOps { [op: string]: (...args: never[]) => void }

/** The owner every entry shows: the user who mounted (the bundle records no owners). */
export interface Owner { uid: number; gid: number }

/**
 * How names cross the binding. Linux names are bytes: datamover's own build of the binding (native/fuse) passes
 * them as latin1 strings, one character per byte, which `bytesNames` maps to and from manifest paths (bytes that
 * are not UTF-8 as escaped lone surrogates, fs-path.ts). fuse-native's prebuilt binding passes UTF-8, which
 * turns such bytes into U+FFFD: with it (`utf8Names`) those names cannot be looked up.
 */
export interface NameCodec {
  /** A path or name as the binding hands it over → its manifest form. */
  fromKernel(s: string): string;
  /** A manifest name or link target → what the binding takes. */
  toKernel(s: string): string;
}

const ASCII = /^[^\u0080-\uffff]*$/;
export const bytesNames: NameCodec = {
  fromKernel: (s) => (ASCII.test(s) ? s : nameFromBytes(Buffer.from(s, 'latin1'))),
  toKernel: (s) => (ASCII.test(s) ? s : bytesOf(s).toString('latin1')),
};
export const utf8Names: NameCodec = { fromKernel: (s) => s, toKernel: (s) => s };

/**
 * The operations of a read-only mount of `reader`'s bundle, names crossing as `names` says. `onError` sees
 * failures that are not ENOENT.
 */
export function fuseOps(reader: BundleReader, owner: Owner, onError: (err: unknown) => void = () => undefined, names: NameCodec = utf8Names): FuseOps {
  const manifestPath = (fusePath: string) => names.fromKernel(fusePath).slice(1);
  const fail = (cb: Callback, err: unknown) => {
    if (isDatamoverError(err, 'NOT_FOUND')) return cb(-E.ENOENT);
    onError(err);
    return cb(-E.EIO);
  };
  /** Runs `work` and hands its result (or its error, as an errno) to `cb`. */
  const serve = (cb: Callback, work: () => Promise<unknown[] | number>) => {
    work().then((r) => (typeof r === 'number' ? cb(r) : cb(0, ...r)), (err: unknown) => fail(cb, err));
  };
  const entry = async (path: string): Promise<ReaderEntry> => {
    const found = await reader.stat(manifestPath(path));
    if (!found) throw notFound(`no entry ${path}`);
    return found;
  };
  const withEntry = (cb: Callback, path: string, then: (e: ReaderEntry) => unknown[] | number) => {
    serve(cb, async () => then(await entry(path)));
  };
  const readOnly = (...args: unknown[]) => (args[args.length - 1] as Callback)(-E.EROFS);
  const listed = new ListedAttrs();
  /** Attributes of `path`: from the last listings when there, else from the manifest. */
  const getattr = (path: string, cb: Callback) => {
    const known = listed.get(path);
    if (known) return cb(0, known);
    withEntry(cb, path, (e) => [statOf(e, owner)]);
  };

  return {
    init: (cb: Callback) => cb(0),
    getattr,
    fgetattr: (path: string, _fd: number, cb: Callback) => getattr(path, cb),
    access: (path: string, _mode: number, cb: Callback) => withEntry(cb, path, () => 0),
    readdir: (path: string, cb: Callback) => serve(cb, async () => {
      const dir = manifestPath(path);
      const kernelNames = ['.', '..'];
      const self = statOf(await entry(path), owner);
      const stats = [self, self];
      const cut = dir === '' ? 0 : dir.length + 1;
      const base = path === '/' ? '/' : `${path}/`;
      for await (const child of reader.list(dir)) {
        const [name, stat] = [names.toKernel(child.path.slice(cut)), statOf(child, owner)];
        kernelNames.push(name);
        stats.push(stat);
        listed.add(base + name, stat);
      }
      return [kernelNames, stats];
    }),
    readlink: (path: string, cb: Callback) => withEntry(cb, path, (e) => (e.type === 'symlink' ? [names.toKernel(e.target ?? '')] : -E.EINVAL)),
    open: (path: string, flags: number, cb: Callback) => {
      if ((flags & O_ACCMODE) !== fsConstants.O_RDONLY) return cb(-E.EROFS);
      withEntry(cb, path, (e) => (e.type === 'dir' ? -E.EISDIR : [0]));
    },
    opendir: (_path: string, _flags: number, cb: Callback) => cb(0, 0),
    read: (path: string, _fd: number, buf: Buffer, len: number, pos: number, cb: Callback) => {
      reader.readInto(manifestPath(path), pos, buf.subarray(0, len)).then((n) => cb(n), (err: unknown) => fail(cb, err));
    },
    release: (_path: string, _fd: number, cb: Callback) => cb(0),
    releasedir: (_path: string, _fd: number, cb: Callback) => cb(0),
    statfs: (_path: string, cb: Callback) => cb(0, {
      bsize: 4096, frsize: 4096, blocks: Math.ceil(reader.bundle.bytes / 4096), bfree: 0, bavail: 0,
      files: reader.bundle.files, ffree: 0, favail: 0, namemax: 255,
    }),
    getxattr: (path: string, name: string, _position: number, cb: Callback) => withEntry(cb, path, (e) => {
      const value = e.entry.xattrs?.[names.fromKernel(name)];
      return value === undefined ? -E.ENODATA : [Buffer.from(value, 'base64')];
    }),
    listxattr: (path: string, cb: Callback) => withEntry(cb, path, (e) => [Object.keys(e.entry.xattrs ?? {})]),
    write: readOnly, create: readOnly, unlink: readOnly, rename: readOnly, link: readOnly, symlink: readOnly,
    mkdir: readOnly, rmdir: readOnly, mknod: readOnly, chmod: readOnly, chown: readOnly, truncate: readOnly,
    ftruncate: readOnly, utimens: readOnly, setxattr: readOnly, removexattr: readOnly,
  } as unknown as FuseOps;
}

function statOf(e: ReaderEntry, owner: Owner): FuseStat {
  const kind = e.type === 'dir' ? S_IFDIR : e.type === 'symlink' ? S_IFLNK : S_IFREG;
  const time = Math.trunc(e.mtimeMs); // whole milliseconds, as a Date would hold them
  return {
    mode: kind | (e.type === 'symlink' ? 0o777 : e.mode), uid: owner.uid, gid: owner.gid, size: e.size, nlink: 1,
    blocks: Math.ceil(e.size / 512), blksize: 4096, mtime: time, atime: time, ctime: time,
  };
}
