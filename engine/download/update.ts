/**
 * `bundle update`: brings a directory that holds bundle A to bundle B, from the two manifests: downloads only
 * entries added or whose content changed, fixes mode and mtime of entries that changed only there, and removes
 * what B no longer has. Nothing outside the destination is touched (the same path checks as a download), and
 * nothing is changed through a link: modes and mtimes are set through descriptors opened with O_NOFOLLOW, and
 * only on a file of the recorded size whose every link is a member of its group in the destination (else it
 * is rewritten, by a rename).
 * Only what still is A's entry is removed (a file of A's size and mtime, a link to A's target, an empty
 * directory): anything else there (a user's edit or file) is kept and reported (`update.kept`, `kept`).
 */
import { type Stats, lstatSync, promises as fsp, readlinkSync } from 'node:fs';
import { errnoCode } from '../errors.js';
import { type Reporter, silentReporter } from '../events.js';
import { type BundleRef, resolveBundle } from '../meta/refs.js';
import { diffBundles } from '../meta/diff.js';
import { openFormat } from '../meta/format.js';
import { readEntries } from '../meta/manifest.js';
import type { Storage } from '../storage/storage.js';
import { entryMtimeNs } from '../times.js';
import type { BundleDescriptor, Contributor, FileEntry, FormatRecord } from '../vocab.js';
import { setLinkTimes } from '../../workers/set-times.js';
import { type DownloadResult, restoreBundle } from './download.js';
import { interruptible, throwIfInterrupted } from '../cancel.js';
import { abortable } from '../storage/abortable.js';
import type { SyncMode } from './file-restorer.js';
import { fsPath, nameFromBytes } from '../fs-path.js';
import { type MtimeMatch, mtimeMatcher } from './mtime-match.js';
import { DestinationDirs, parentOf } from './destination-dirs.js';
import { setAttributesNoFollow } from './safe-paths.js';
import { type PathSelector, checkEveryIncludeMatches, everything, pathSetSelector, selectedPages } from './select.js';
import { ContentCheck } from './content-check.js';

export interface UpdateRequest {
  storage: Storage;
  repo: string;
  from: BundleRef;
  to: BundleRef;
  dest: string;
  /** The store's format record when the caller (a Store) has checked it; read here otherwise. */
  format?: FormatRecord;
  contributor: Contributor;
  reporter?: Reporter;
  concurrency?: number;
  /** As for a download (default 'end'). */
  sync?: SyncMode;
  /** As for a download: stops the update, nothing more is removed or written; fails with INTERRUPTED. */
  signal?: AbortSignal;
  /**
   * Also check the content of every file B has that the diff would leave alone (hashing it with B's chunker):
   * one whose bytes differ from B's (tampered with, size and mtime kept) or that is missing is fetched again.
   */
  checksum?: boolean;
  /**
   * Only the entries this keeps (`--include`/`--exclude`) are fetched, fixed or removed; the rest of the
   * directory is left as it is. An include matching no entry of either bundle fails with USAGE naming it
   * before anything changes. A hard-link group is still fetched whole (addLinkGroups).
   */
  select?: PathSelector;
}

export interface UpdateResult extends DownloadResult {
  from: string; removed: number; attributesFixed: number;
  /** Entries of A that B no longer has, left in place because they are no longer what A recorded. */
  kept: string[];
}

/** Errors as for a download (INTERRUPTED included); NOT_FOUND for either bundle. Rerunnable: a second run finds nothing to do but checks. */
export async function updateBundle(req: UpdateRequest): Promise<UpdateResult> {
  return interruptible(req.signal, () => updateOnce(req));
}

async function updateOnce(req: UpdateRequest): Promise<UpdateResult> {
  const storage = abortable(req.storage, req.signal);
  if (!req.format) await openFormat(storage, false);
  const from = await resolveBundle(storage, req.repo, req.from);
  const to = await resolveBundle(storage, req.repo, req.to);
  const select = req.select ?? everything;
  await checkEveryIncludeMatches(both(storage, to, from, select), select, `${to.id} nor of ${from.id}`);
  const fetch = new Set<string>();
  const removed: FileEntry[] = [];
  const attributes: FileEntry[] = [];
  for await (const change of diffBundles(storage, from, to)) {
    if (!select.matches(change.entry.path)) continue;
    if (change.kind === 'removed') removed.push(change.entry);
    else if (change.kind === 'added' || change.content) {
      if (change.kind === 'changed' && change.before.type !== change.entry.type) removed.push(change.before);
      fetch.add(change.entry.path);
    } else attributes.push(change.entry);
  }
  await fsp.mkdir(req.dest, { recursive: true });
  const root = await fsp.realpath(req.dest);
  const dirs = new DestinationDirs(root);
  try {
    return await updateIn(dirs, root, req, from, to, { removed, fetch, attributes });
  } finally {
    dirs.close();
  }
}

/** The steps of an update after the diff, with the destination's directories held in `dirs`. */
async function updateIn(
  dirs: DestinationDirs, root: string, req: UpdateRequest, from: BundleDescriptor, to: BundleDescriptor,
  { removed, fetch, attributes }: { removed: FileEntry[]; fetch: Set<string>; attributes: FileEntry[] },
): Promise<UpdateResult> {
  const storage = abortable(req.storage, req.signal);
  const groups = await linkGroupMembers(storage, to);
  // Files first, before the fetch: one that is not the file A recorded (an edit, a link outside) is rewritten.
  let attributesFixed = 0;
  for (const entry of attributes) {
    if (entry.type !== 'file') continue;
    if (await fixAttributes(entry, dirs, groups)) attributesFixed++;
    else fetch.add(entry.path);
  }
  const select = req.select ?? everything;
  if (req.checksum) await addDamagedFiles(storage, to, dirs, fetch, select);
  await addLinkGroups(storage, to, fetch);
  throwIfInterrupted(req.signal);
  const kept = await removeEntries(removed, dirs, mtimeMatcher(root));
  const report = req.reporter ?? silentReporter;
  for (const k of kept) report({ type: 'update.kept', path: k.path, reason: k.reason });
  const within = req.select ? ` within ${JSON.stringify(req.select.describe())}` : '';
  const result = await restoreBundle({
    ...req, ref: { bundle: to.id }, select: pathSetSelector(fetch, `changed since ${from.id}${within}`), force: true, readType: 'bundle.update',
  }, to);
  for (const entry of attributes) if (entry.type !== 'file' && await fixAttributes(entry, dirs, groups)) attributesFixed++;
  // Writing and removing entries changed the mtimes of their directories: set every directory's as in B.
  for await (const entry of readEntries(storage, selectedPages(to.pages, select))) {
    if (entry.type === 'dir' && select.matches(entry.path)) await fixAttributes(entry, dirs, groups);
  }
  return {
    ...result, from: from.id, removed: removed.length - kept.length, attributesFixed, kept: kept.map((k) => k.path),
  };
}

/** Adds to `fetch` every selected file of `to` not already in it whose local bytes are not `to`'s (content-check.ts). */
async function addDamagedFiles(storage: Storage, to: BundleDescriptor, dirs: DestinationDirs, fetch: Set<string>, select: PathSelector): Promise<void> {
  const check = new ContentCheck(to.chunker);
  for await (const entry of readEntries(storage, selectedPages(to.pages, select))) {
    if (entry.type !== 'file' || fetch.has(entry.path) || !select.matches(entry.path)) continue;
    if (!await dirs.at(entry.path, (place) => check.matches(place.abs, entry))) fetch.add(entry.path);
  }
}

/** The entries of `to`, then of `from`, that `select` may keep: what an include may match in an update. */
async function* both(storage: Storage, to: BundleDescriptor, from: BundleDescriptor, select: PathSelector): AsyncGenerator<FileEntry> {
  for (const b of [to, from]) {
    for await (const entry of readEntries(storage, selectedPages(b.pages, select))) if (select.matches(entry.path)) yield entry;
  }
}

/** Hard-link group id → the paths of its members in bundle `to`. */
async function linkGroupMembers(storage: Storage, to: BundleDescriptor): Promise<Map<string, string[]>> {
  const groups = new Map<string, string[]>();
  for await (const entry of readEntries(storage, to.pages)) {
    if (entry.hardlink === undefined) continue;
    const list = groups.get(entry.hardlink);
    if (list) list.push(entry.path);
    else groups.set(entry.hardlink, [entry.path]);
  }
  return groups;
}

/**
 * A hard-link group is restored whole: when one member is fetched, so are the others (linked to the first),
 * else a new member would become a file of its own beside the group's unchanged inode.
 */
async function addLinkGroups(storage: Storage, to: BundleDescriptor, fetch: Set<string>): Promise<void> {
  const groups = new Set<string>();
  const members: [path: string, group: string][] = [];
  for await (const entry of readEntries(storage, to.pages)) {
    if (entry.hardlink === undefined) continue;
    members.push([entry.path, entry.hardlink]);
    if (fetch.has(entry.path)) groups.add(entry.hardlink);
  }
  for (const [path, group] of members) if (groups.has(group)) fetch.add(path);
}

/**
 * Removes entries deepest first, so a directory's known entries are gone when its turn comes; a missing entry
 * is fine. Only what still is A's entry goes: a file of the size and mtime A recorded, a link to A's target, a
 * directory once empty (never recursively). Returns what was kept, with why.
 */
async function removeEntries(entries: FileEntry[], dirs: DestinationDirs, mtimeMatch: MtimeMatch): Promise<{ path: string; reason: string }[]> {
  entries.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  const kept: { path: string; reason: string }[] = [];
  for (const entry of entries) {
    // Parents must be real directories: never remove through a link that leads out of the destination.
    const reason = await dirs.at(entry.path, async (place) => {
      const abs = fsPath(place.abs);
      const why = entry.type === 'dir' ? await removeEmptyDir(abs) : removableEntry(abs, entry, mtimeMatch);
      if (why === undefined && entry.type !== 'dir') await fsp.rm(abs, { force: true }); // rm removes a link itself, never its target
      return why;
    });
    if (reason) kept.push({ path: entry.path, reason });
  }
  return kept;
}

/** undefined when removed (or missing), else why it stays. */
async function removeEmptyDir(abs: string | Buffer): Promise<string | undefined> {
  try {
    await fsp.rmdir(abs);
    return undefined;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return 'directory holds entries that are not in the bundle';
    if (code === 'ENOTDIR') return 'no longer a directory';
    throw err;
  }
}

/** undefined when the entry at `abs` still is A's `entry` (or is gone: '' then), else why it stays. */
function removableEntry(abs: string | Buffer, entry: FileEntry, mtimeMatch: MtimeMatch): string | undefined {
  let st;
  try {
    st = lstatSync(abs, { bigint: true });
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return '';
    throw err;
  }
  if (entry.type === 'symlink') {
    if (!st.isSymbolicLink()) return 'no longer a symlink';
    return nameFromBytes(readlinkSync(abs, { encoding: 'buffer' })) === entry.target ? undefined : 'link target changed';
  }
  if (!st.isFile()) return 'no longer a file';
  return st.size === BigInt(entry.size) && mtimeMatch(st.mtimeNs, entryMtimeNs(entry)) ? undefined : 'changed since it was downloaded';
}

/**
 * Sets mode and mtime as B records (UNSAFE_PATH naming the entry when it is a link or another type there).
 * A file gets them only when its descriptor shows the recorded size and one link, or as many as the names of
 * its group in the destination that share its inode: else false, nothing changed, and the caller rewrites it.
 */
async function fixAttributes(entry: FileEntry, dirs: DestinationDirs, groups: Map<string, string[]>): Promise<boolean> {
  return dirs.at(entry.path, (place) => {
    if (entry.type === 'symlink') {
      setLinkTimes(place.abs, entryMtimeNs(entry));
      return true;
    }
    if (entry.type === 'dir') return setAttributesNoFollow(place, entry.path, 'dir', entry.mode, entryMtimeNs(entry));
    try {
      lstatSync(fsPath(place.abs));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false; // gone: fetched again
      throw err;
    }
    const members = entry.hardlink === undefined ? [] : groups.get(entry.hardlink) ?? [];
    for (const member of members) dirs.ensure(parentOf(member)); // counted below through real directories only
    return setAttributesNoFollow(place, entry.path, 'file', entry.mode, entryMtimeNs(entry),
      (st) => st.size === entry.size && (st.nlink === 1 || sharing(st, members, dirs) === st.nlink));
  });
}

/** How many of `members` name the inode `st` in the destination: all its links when the group is whole there. */
function sharing(st: Stats, members: string[], dirs: DestinationDirs): number {
  let n = 0;
  for (const member of members) {
    const place = dirs.hold(member);
    try {
      const other = lstatSync(fsPath(place.abs), { throwIfNoEntry: false });
      if (other?.isFile() && other.ino === st.ino && other.dev === st.dev) n++;
    } finally {
      place.release();
    }
  }
  return n;
}
