/**
 * Walks a tree depth-first with each directory's entries sorted, which yields paths in manifest order
 * (`comparePaths`) without sorting the whole tree: memory holds one listing per level, not the tree.
 * fast-glob lists each directory (lstat included, links not followed).
 */
import { type BigIntStats, constants, promises as fsp, lstatSync, type Stats } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';
import { badInput, errnoCode } from '../errors.js';
import { splitNs } from '../times.js';
import type { FileType } from '../vocab.js';

export interface ScanEntry {
  /** Manifest path: relative, `/`-separated, NFC. */
  path: string;
  /** Where to read it on this machine. */
  abs: string;
  type: FileType;
  size: number;
  mode: number;
  /** Milliseconds (floor) and the nanoseconds within them, as in FileEntry. */
  mtime: number;
  mtimeNanos: number;
  ino: number;
  /** Device and inode as a string (exact), and the link count: what finds hard-link groups. */
  devIno: string;
  nlink: number;
  /** Set by `withLinkGroups` (hardlinks.ts) on files with other links. */
  linkGroup?: string;
  /** Set by `withXattrs` (xattrs.ts): extended attributes and ACLs, name → base64. */
  xattrs?: Record<string, string>;
  /** Status-change time (ms): with size, mtime and inode, what says a file is unchanged since the parent bundle. */
  ctime: number;
  target?: string;
}

export interface ScanSkip { path: string; reason: string }

/**
 * Yields every file, directory and symlink below `root` in manifest order. Other kinds (sockets, FIFOs,
 * devices) are reported to `onSkip` and left out. Fails with BAD_INPUT when `root` is not a readable directory,
 * and when a directory below it cannot be listed, unless `onUnreadable` is given: then that directory (and so
 * its whole subtree) is left out and reported there.
 */
export async function* walkTree(
  root: string, onSkip: (s: ScanSkip) => void = () => undefined, onUnreadable?: (s: ScanSkip) => void,
): AsyncGenerator<ScanEntry> {
  const rootAbs = path.resolve(root);
  await checkRoot(root, rootAbs);
  yield* walkDir(rootAbs, '', await listDir(rootAbs), onSkip, onUnreadable);
}

async function* walkDir(
  dirAbs: string, rel: string, listed: Listed[], onSkip: (s: ScanSkip) => void, onUnreadable?: (s: ScanSkip) => void,
): AsyncGenerator<ScanEntry> {
  const seen = new Map<string, string>();
  for (const { name, stats } of listed) {
    const relPath = (rel ? `${rel}/${name}` : name).normalize('NFC');
    const twin = seen.get(relPath);
    if (twin !== undefined) {
      throw badInput(`${path.join(dirAbs, name)} and ${path.join(dirAbs, twin)} are the same path after Unicode normalisation (NFC); rename one`);
    }
    seen.set(relPath, name);
    const abs = path.join(dirAbs, name);
    const type = fileType(stats);
    if (!type) {
      onSkip({ path: relPath, reason: 'not a regular file, directory or symlink' });
      continue;
    }
    // A directory is listed before it is yielded, so an unreadable one can be left out whole.
    let children: Listed[] = [];
    if (type === 'dir') {
      try {
        children = await listDir(abs);
      } catch (err) {
        if (!onUnreadable) throw err;
        onUnreadable({ path: relPath, reason: `directory not listed: ${codeOf(err)}` });
        continue;
      }
    }
    const entry: ScanEntry = {
      path: relPath, abs, type, size: type === 'file' ? Number(stats.size) : 0, mode: Number(stats.mode) & 0o7777,
      ...splitNs(stats.mtimeNs), ino: Number(stats.ino), ctime: Number(stats.ctimeMs),
      devIno: `${stats.dev}:${stats.ino}`, nlink: Number(stats.nlink),
    };
    if (type === 'symlink') entry.target = await fsp.readlink(abs);
    yield entry;
    if (type === 'dir') yield* walkDir(abs, relPath, children, onSkip, onUnreadable);
  }
}

/** Stats with bigint fields: mtimes to the nanosecond, inode numbers exact. */
interface Listed { name: string; stats: BigIntStats }

function codeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? (err as Error).message;
}

async function listDir(dirAbs: string): Promise<Listed[]> {
  let entries;
  try {
    // Synchronous: one directory is listed in one go (78 ms for 20k entries here, against 170-260 async).
    // Names only: each is lstat-ed below with bigint fields (nanosecond times, exact inode numbers).
    entries = fg.sync('*', {
      cwd: dirAbs, dot: true, onlyFiles: false, objectMode: true, followSymbolicLinks: false, deep: 1,
      suppressErrors: false, unique: false,
    });
  } catch (err) {
    throw badInput(`cannot list ${dirAbs}: ${(err as Error).message}`, err);
  }
  const listed: Listed[] = [];
  for (const e of entries) {
    try {
      listed.push({ name: e.name, stats: lstatSync(path.join(dirAbs, e.name), { bigint: true }) });
    } catch (err) {
      throw badInput(`cannot list ${dirAbs}: ${(err as Error).message}`, err);
    }
  }
  listed.sort((a, b) => {
    const x = a.name.normalize('NFC');
    const y = b.name.normalize('NFC');
    return x < y ? -1 : x > y ? 1 : 0;
  });
  return listed;
}

function fileType(stats: BigIntStats): FileType | undefined {
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  return undefined;
}

async function checkRoot(root: string, rootAbs: string): Promise<void> {
  let st: Stats;
  try {
    st = await fsp.stat(rootAbs);
  } catch (err) {
    const code = errnoCode(err);
    throw badInput(code === 'ENOENT' ? `${root}: no such directory` : `${root}: ${(err as Error).message}`, err);
  }
  if (!st.isDirectory()) throw badInput(`${root}: not a directory`);
  try {
    await fsp.access(rootAbs, constants.R_OK | constants.X_OK); // the walk lists it next; no need to list it twice
  } catch (err) {
    throw badInput(`${root}: cannot read directory: ${(err as Error).message}`, err);
  }
}
