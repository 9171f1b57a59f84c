/**
 * A read-only FUSE mount of a bundle (fuse-native, which bundles libfuse): the operations of fuse-ops.ts over
 * a BundleReader. The mount ends by `unmount()` or from outside (`umount`, `fusermount -u`), which is noticed
 * by watching the process's mount table; either way the reader is closed, which records the read.
 */
import { execFile } from 'node:child_process';
import { readFileSync, promises as fsp } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { InputError, ioError } from '../errors.js';
import type { BundleDescriptor } from '../vocab.js';
import type { BundleReader, ReaderCounters } from './bundle-reader.js';
import { type FuseOps, type NameCodec, type Owner, bytesNames, fuseOps, utf8Names } from './fuse-ops.js';

export interface MountOptions {
  /** Owner shown for every entry (default: the mounting process's user and group). */
  owner?: Owner;
  /** Failures served as EIO (storage errors, damaged chunks), for the caller to report. */
  onError?: (err: unknown) => void;
}

/** A mounted bundle. */
export interface MountHandle {
  readonly bundle: BundleDescriptor;
  /** The absolute mountpoint. */
  readonly mountpoint: string;
  /** What was read so far. */
  readonly counters: ReaderCounters;
  /** Settles once unmounted, by `unmount` or from outside, and the read is recorded; with the final counters. */
  readonly unmounted: Promise<ReaderCounters>;
  /** Unmounts (lazily: files still open through the mount keep working until closed); resolves like `unmounted`. */
  unmount(): Promise<ReaderCounters>;
}

/** How often the mount table is checked for an unmount from outside. */
const WATCH_MS = 500;
/** A storage request may be retried for minutes (retry deadline); the kernel waits that long for an answer. */
const OP_TIMEOUT_MS = 5 * 60_000;
/** Bundles never change: the kernel may keep attributes, names and pages as long as it likes. */
const CACHE_SECONDS = 3600;
/** The mount table's type for our mounts (FUSE with subtype `datamover`). */
const FS_TYPE = 'fuse.datamover';

interface FuseInstance {
  mount(cb: (err: Error | null) => void): void;
  /** fuse-native's per-mount thread state, for its native unmount. */
  _thread: Buffer;
}
type FuseClass = new (mnt: string, ops: FuseOps, opts: Record<string, unknown>) => FuseInstance;

/**
 * Mounts `reader`'s bundle at `mountpoint`, an existing empty directory (USAGE naming it otherwise). Resolves
 * once the file system answers. The reader is the mount's: it is closed when the mount ends.
 */
export async function mountReader(reader: BundleReader, mountpoint: string, opts: MountOptions = {}): Promise<MountHandle> {
  const dir = path.resolve(mountpoint);
  await checkMountpoint(dir);
  const { Fuse, names } = fuseNative();
  const owner = opts.owner ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const fuse = new Fuse(dir, fuseOps(reader, owner, opts.onError, names), {
    timeout: OP_TIMEOUT_MS, fsname: 'datamover', subtype: 'datamover', kernelCache: true,
    attrTimeout: CACHE_SECONDS, entryTimeout: CACHE_SECONDS,
  });
  await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(ioError(dir, err)) : resolve())));
  return new Mount(reader, fuse, dir);
}

class Mount implements MountHandle {
  readonly unmounted: Promise<ReaderCounters>;
  private ended?: () => void;
  private unmounting?: Promise<ReaderCounters>;
  private readonly watch: NodeJS.Timeout;

  constructor(private readonly reader: BundleReader, private readonly fuse: FuseInstance, readonly mountpoint: string) {
    const gone = new Promise<void>((resolve) => { this.ended = resolve; });
    this.unmounted = gone.then(async () => {
      clearInterval(this.watch);
      await this.reader.close();
      return this.reader.counters;
    });
    this.watch = setInterval(() => {
      if (this.unmounting || isMounted(mountpoint)) return;
      // Unmounted from outside: fuse-native's thread has ended, but its handle still holds the event loop.
      fuseNative().binding.fuse_native_unmount(mountpoint, fuse._thread);
      this.ended?.();
    }, WATCH_MS);
  }

  get bundle(): BundleDescriptor { return this.reader.bundle; }
  get counters(): ReaderCounters { return this.reader.counters; }

  unmount(): Promise<ReaderCounters> {
    this.unmounting ??= this.unmountOnce();
    return this.unmounting;
  }

  private async unmountOnce(): Promise<ReaderCounters> {
    try {
      await detach(this.mountpoint);
    } catch (err) {
      this.unmounting = undefined; // still mounted: a later call may try again
      throw err;
    }
    fuseNative().binding.fuse_native_unmount(this.mountpoint, this.fuse._thread);
    this.ended?.();
    return this.unmounted;
  }
}

/**
 * Unmounts `dir` lazily (open files keep working until closed). fuse-native shells out to `fusermount`, which a
 * container image may lack (fuse3 names it fusermount3); root can always use umount(8).
 */
async function detach(dir: string): Promise<void> {
  const tries: [string, string[]][] = [['fusermount', ['-uz', dir]], ['fusermount3', ['-uz', dir]], ['umount', ['-l', dir]]];
  let failure = 'not mounted';
  for (const [command, args] of tries) {
    if (!isMounted(dir)) return;
    failure = await new Promise<string>((resolve) => {
      execFile(command, args, (err, _stdout, stderr) => resolve(err ? `${command}: ${stderr.trim() || err.message}` : ''));
    });
  }
  if (isMounted(dir)) throw ioError(dir, new Error(`cannot unmount: ${failure}`));
}

interface FuseNative {
  Fuse: FuseClass;
  binding: { fuse_native_unmount(mnt: string, thread: Buffer): void; names_latin1?: number };
  /** How the binding passes names (fuse-ops.ts NameCodec). */
  names: NameCodec;
}

/** The optional native helper: fuse-native's binding built to pass names as bytes (native/fuse). */
export const FUSE_BYTES_PACKAGE = 'datamover-fuse';

let loaded: FuseNative | undefined;

/**
 * fuse-native (CommonJS, loaded on first mount) and its native binding (the same addon instance): datamover's
 * own build of it when that was built (names as bytes), else fuse-native's prebuilt one (names as UTF-8).
 * fuse-native finds its binding with node-gyp-build, which looks in FUSE_NATIVE_PREBUILD when set.
 */
function fuseNative(): FuseNative {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const main = require.resolve('fuse-native');
  const own = ownBuild(require);
  const saved = process.env.FUSE_NATIVE_PREBUILD;
  if (own) process.env.FUSE_NATIVE_PREBUILD = own.prebuildDir;
  try {
    const Fuse = require(main) as FuseClass;
    const binding = (own ? require(own.binding) : createRequire(main)('node-gyp-build')(path.dirname(main))) as FuseNative['binding'];
    loaded = { Fuse, binding, names: binding.names_latin1 === 1 ? bytesNames : utf8Names };
    return loaded;
  } finally {
    if (saved === undefined) delete process.env.FUSE_NATIVE_PREBUILD;
    else process.env.FUSE_NATIVE_PREBUILD = saved;
  }
}

function ownBuild(require: NodeJS.Require): { prebuildDir: string; binding: string } | undefined {
  try {
    return require(FUSE_BYTES_PACKAGE) as { prebuildDir: string; binding: string };
  } catch {
    return undefined;
  }
}

/** Whether a mount serves every name, bytes that are not UTF-8 included (datamover's build of the binding). */
export function mountServesByteNames(): boolean {
  return fuseNative().names === bytesNames;
}

async function checkMountpoint(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError('mountpoint', dir, code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'not a directory' : `cannot be read (${code})`);
  }
  if (names.length) throw new InputError('mountpoint', dir, 'not an empty directory');
}

/**
 * Whether a datamover FUSE file system is mounted at `dir` (an absolute path), per /proc/self/mountinfo. Only
 * ours counts: in a pod the mountpoint is itself a volume's bind mount, which must outlive the bundle's.
 */
function isMounted(dir: string): boolean {
  let table: string;
  try {
    table = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return true; // no mount table to watch: only `unmount` ends the mount
  }
  for (const line of table.split('\n')) {
    const point = line.split(' ')[4];
    const fsType = line.split(' - ')[1]?.split(' ')[0];
    if (point !== undefined && fsType === FS_TYPE && unescapeMountPath(point) === dir) return true;
  }
  return false;
}

/** The mount table writes space, tab, newline and backslash as octal escapes (`\040`). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
