/**
 * Walks a tree depth-first with each directory's entries sorted, which yields paths in manifest order
 * (`comparePaths`) without sorting the whole tree: memory holds one listing per level, not the tree.
 * Each directory is listed as raw bytes (names are stored exactly as on disk: no Unicode normalisation, and
 * bytes that are not UTF-8 kept losslessly, see fs-path.ts), then every entry is lstat-ed (links not followed).
 * A listing is complete or it is an error: nothing is ever recorded as missing without a word.
 */
import type { KnownFile } from '../plan/jobs.js';
import { type BigIntStats, constants, promises as fsp, lstatSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import path from 'node:path';
import { badInput, errnoCode } from '../errors.js';
import { displayName, fsPath, nameFromBytes } from '../fs-path.js';
import { splitNs } from '../times.js';
import type { FileType } from '../vocab.js';

export interface ScanEntry {
  /** Manifest path: relative, `/`-separated, the names' bytes exactly as on disk (string form of fs-path.ts). */
  path: string;
  /** Where to read it on this machine (string form: pass it through `fsPath` to any fs call). */
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
  /** Set by `withParentFiles` (plan/file-cache.ts) on a file unchanged since the parent bundle. */
  known?: KnownFile;
  /** Status-change time (ms): with size, mtime and inode, what says a file is unchanged since the parent bundle. */
  ctime: number;
  /** The same, exact (decimal nanoseconds): what the hash workers and the file cache compare. */
  ctimeNs: string;
  target?: string;
}

export interface ScanSkip { path: string; reason: string }

/**
 * `keep`: entries whose manifest path it refuses are left out unseen (never lstat-ed; a directory is never
 * entered): an upload's --files and --exclude (source-select.ts). Test hook: `afterList` runs between reading a
 * directory's names and lstat-ing them (to race the walk).
 */
export interface WalkHooks { afterList?: (dirAbs: string) => void; keep?: (path: string) => boolean }

/**
 * Yields every file, directory and symlink below `root` in manifest order. Other kinds (sockets, FIFOs,
 * devices) are reported to `onSkip` and left out. Fails with BAD_INPUT naming the path when `root` is not a
 * readable directory, when a directory below it cannot be listed completely (unreadable, or renamed or removed
 * during the walk), and when a file vanishes between its listing and its lstat — unless `onUnreadable` is
 * given: then that directory (and so its whole subtree) or that file is left out and reported there.
 */
export async function* walkTree(
  root: string, onSkip: (s: ScanSkip) => void = () => undefined, onUnreadable?: (s: ScanSkip) => void, hooks: WalkHooks = {},
): AsyncGenerator<ScanEntry> {
  const rootAbs = path.resolve(root);
  await checkRoot(root, rootAbs);
  const walk = { onSkip, onUnreadable, hooks };
  let listed: Listed[];
  try {
    listed = listDir(rootAbs, '', walk);
  } catch (err) {
    throw err instanceof Unlistable ? err.error : err;
  }
  yield* walkDir(rootAbs, '', listed, walk);
}

interface Walk { onSkip: (s: ScanSkip) => void; onUnreadable?: (s: ScanSkip) => void; hooks: WalkHooks }

async function* walkDir(dirAbs: string, rel: string, listed: Listed[], walk: Walk): AsyncGenerator<ScanEntry> {
  for (const { name, stats } of listed) {
    const relPath = rel ? `${rel}/${name}` : name;
    const abs = path.join(dirAbs, name);
    const type = fileType(stats);
    if (!type) {
      walk.onSkip({ path: relPath, reason: 'not a regular file, directory or symlink' });
      continue;
    }
    // A directory is listed before it is yielded, so one that cannot be listed can be left out whole.
    let children: Listed[] = [];
    if (type === 'dir') {
      try {
        children = listDir(abs, relPath, walk);
      } catch (err) {
        if (!(err instanceof Unlistable)) throw err;
        if (!walk.onUnreadable) throw err.error;
        walk.onUnreadable({ path: relPath, reason: err.reason });
        continue;
      }
    }
    const entry: ScanEntry = {
      path: relPath, abs, type, size: type === 'file' ? Number(stats.size) : 0, mode: Number(stats.mode) & 0o7777,
      ...splitNs(stats.mtimeNs), ino: Number(stats.ino), ctime: Number(stats.ctimeMs), ctimeNs: String(stats.ctimeNs),
      devIno: `${stats.dev}:${stats.ino}`, nlink: Number(stats.nlink),
    };
    if (type === 'symlink') {
      try {
        entry.target = nameFromBytes(readlinkSync(fsPath(abs), { encoding: 'buffer' }));
      } catch (err) {
        if (!walk.onUnreadable) throw badInput(`cannot read link ${displayName(abs)}: ${(err as Error).message}`, err);
        walk.onUnreadable({ path: relPath, reason: `link not read: ${errnoCode(err) ?? (err as Error).message}` });
        continue;
      }
    }
    yield entry;
    if (type === 'dir') yield* walkDir(abs, relPath, children, walk);
  }
}

/** Stats with bigint fields: mtimes to the nanosecond, inode numbers exact. */
interface Listed { name: string; stats: BigIntStats }

/** A directory that could not be listed completely: `reason` for a skip report, `error` to throw otherwise. */
class Unlistable extends Error {
  constructor(readonly reason: string, readonly error: Error) { super(error.message); }
}

/**
 * Lists a directory completely, sorted in manifest order: every name and its lstat. Throws Unlistable when the
 * listing fails, or when the directory moved or vanished while it was listed (it is no longer the one listed
 * once every entry is lstat-ed). A file that vanished from a directory still in
 * place is left out, and reported to `onUnreadable` (or fails the walk without it). Synchronous: one directory
 * is listed in one go (20k entries: readdir + lstat each, tens of ms; async calls cost several times more).
 */
function listDir(dirAbs: string, rel: string, walk: Walk): Listed[] {
  const where = displayName(rel || dirAbs);
  const unlistable = (err: unknown, what: string): Unlistable => {
    const code = errnoCode(err) ?? (err as Error).message;
    return new Unlistable(`directory not listed: ${what}${code}`, badInput(`cannot list directory ${displayName(dirAbs)}: ${what}${code}`, err));
  };
  let before: Stats;
  let names: Buffer[];
  try {
    before = lstatSync(fsPath(dirAbs));
    names = readdirSync(fsPath(dirAbs), { encoding: 'buffer' });
  } catch (err) {
    throw unlistable(err, '');
  }
  walk.hooks.afterList?.(dirAbs);
  const listed: Listed[] = [];
  const vanished: string[] = [];
  for (const raw of names) {
    const name = nameFromBytes(raw);
    if (walk.hooks.keep && !walk.hooks.keep(rel ? `${rel}/${name}` : name)) continue;
    try {
      listed.push({ name, stats: lstatSync(fsPath(path.join(dirAbs, name)), { bigint: true }) });
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw unlistable(err, `${displayName(name)}: `);
      vanished.push(name);
    }
  }
  if (!sameDir(dirAbs, before)) throw unlistable(new Error('ENOENT'), 'moved or removed while listed: ');
  for (const name of vanished) {
    const relPath = rel ? `${rel}/${name}` : name;
    if (!walk.onUnreadable) throw badInput(`${displayName(path.join(dirAbs, name))} vanished while its directory ${where} was listed`);
    walk.onUnreadable({ path: relPath, reason: 'vanished while listed' });
  }
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return listed;
}

/** Whether `dirAbs` is still the directory `before` described. */
function sameDir(dirAbs: string, before: Stats): boolean {
  try {
    const now = lstatSync(fsPath(dirAbs));
    return now.ino === before.ino && now.dev === before.dev;
  } catch {
    return false;
  }
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
