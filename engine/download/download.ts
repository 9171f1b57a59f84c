/**
 * Download a bundle into a directory. Three passes over the manifest pages (re-read, never held whole):
 * directories and files; then symlinks; then directory modes and mtimes, last, since creating entries
 * changes a directory's mtime. Members of a hard-link group after the first are linked to it once the files
 * are written. A rerun skips files already complete (same size and mtime, at the precision the destination keeps).
 */
import { promises as fsp, lstatSync, readlinkSync } from 'node:fs';
import { asInterrupted, interruptible } from '../cancel.js';
import { DatamoverError, errnoCode, integrityError, ioError, isDatamoverError } from '../errors.js';
import { type Reporter, silentReporter } from '../events.js';
import { type LoadedBlobIndex, loadBlobIndex } from '../meta/blob-index.js';
import { type BundleRef, checkBundleRef, resolveBundle } from '../meta/refs.js';
import { openFormat } from '../meta/format.js';
import { checkOrder, readPage } from '../meta/manifest.js';
import { type ReadCounts, ReadLogEntry, type ReadRecord } from '../meta/readlog.js';
import { abortable } from '../storage/abortable.js';
import type { Storage } from '../storage/storage.js';
import type { BundleDescriptor, Contributor, FileEntry, FormatRecord } from '../vocab.js';
import { displayName, fsPath, nameFromBytes } from '../fs-path.js';
import { entryMtimeNs } from '../times.js';
import { setLinkTimes } from '../../workers/set-times.js';
import { FileRestorer, type SyncMode } from './file-restorer.js';
import { LinkGroups } from './hardlinks.js';
import { type MtimeMatch, mtimeMatcher } from './mtime-match.js';
import { XattrRestore } from './xattr-restore.js';
import { DestinationDirs } from './destination-dirs.js';
import { removeExtras } from './mirror.js';
import { checkManifestPath, setAttributesNoFollow } from './safe-paths.js';
import { type PathSelector, checkEveryIncludeMatches, everything, selectedPages } from './select.js';
import { syncFileSystem } from './sync-fs.js';
import { tempNameFor } from './temp-names.js';

export interface DownloadRequest {
  storage: Storage;
  repo: string;
  ref: BundleRef;
  dest: string;
  /** The store's format record when the caller (a Store) has checked it; read here otherwise. */
  format?: FormatRecord;
  /** The blob index when the caller (a Store) holds it; loaded here otherwise. */
  index?: LoadedBlobIndex;
  contributor: Contributor;
  reporter?: Reporter;
  concurrency?: number;
  /** Only these entries (default: all). Pages that cannot hold a selected path are not read. */
  select?: PathSelector;
  /** Rewrite selected files even when size and mtime already match (they are known to differ). */
  force?: boolean;
  /** What the read log calls this read. */
  readType?: ReadRecord['type'];
  /** Restore every file that can be restored; then fail with INTEGRITY naming the damaged ones. */
  keepGoing?: boolean;
  /**
   * When restored files are made durable (default 'end': one sync of the destination's file system before the
   * read is logged and success returned; 'file': each file fsynced before its rename; 'none': left to the OS).
   */
  sync?: SyncMode;
  /**
   * Stops the download: no more reads or writes are scheduled, those in flight settle, every temp file is
   * removed, the read is logged as interrupted; the call fails with INTERRUPTED.
   */
  signal?: AbortSignal;
  /** The run this read is done for, recorded in the read log (see ReadRecord.run). */
  run?: string;
  /** Mirror: then remove what `dest` holds beyond the bundle, within `select` (see mirror.ts). */
  mirror?: boolean;
}

export interface DownloadResult {
  bundle: string; files: number; bytes: number; skipped: number; pagesRead: number;
  /** With `mirror`: entries removed because the bundle does not have them. */
  deleted?: number;
  /** Entries whose extended attributes or ACLs were not restored (reported as `xattr.warning` events). */
  xattrWarnings?: number;
}

/**
 * Restores the bundle named by `ref` under `dest` (created if missing) and records the read in the read log.
 * Errors: NOT_FOUND, USAGE (malformed id), FORMAT, INTEGRITY (a chunk missing or not matching its hash;
 * nothing corrupt is left under a final name), UNSAFE_PATH (a path that would leave `dest`).
 */
export async function downloadBundle(req: DownloadRequest): Promise<DownloadResult> {
  checkBundleRef(req.ref);
  const storage = abortable(req.storage, req.signal);
  const bundle = await interruptible(req.signal, async () => {
    if (!req.format) await openFormat(storage, false);
    return resolveBundle(storage, req.repo, req.ref);
  });
  return restoreBundle(req, bundle);
}

/**
 * Restores an already resolved bundle; see downloadBundle. The read is in the read log from its start; its end
 * record says how it ended and what it got (written to the store as given: not refused after an abort).
 */
export async function restoreBundle(req: DownloadRequest, bundle: BundleDescriptor): Promise<DownloadResult> {
  const filter = (req.select ?? everything).describe();
  const read = await ReadLogEntry.begin(req.storage, {
    type: req.readType ?? 'bundle.download', repo: req.repo, bundle: bundle.id, contributor: req.contributor,
    ...(Object.keys(filter).length ? { filter } : {}), ...(req.run ? { run: req.run } : {}),
  }, req.reporter ?? silentReporter);
  const sofar: { restorer?: FileRestorer } = {};
  try {
    return await restoreFiles({ ...req, storage: abortable(req.storage, req.signal) }, bundle, sofar, read);
  } catch (err) {
    const got = { files: sofar.restorer?.done.files ?? 0, bytes: sofar.restorer?.done.bytes ?? 0 };
    if (!req.signal?.aborted) {
      await read.end('failed', got, err).catch(() => undefined); // the read's own error is the one to report
      throw err;
    }
    await read.end('interrupted', got);
    throw asInterrupted(err, req.signal);
  }
}

async function restoreFiles(
  req: DownloadRequest, bundle: BundleDescriptor, sofar: { restorer?: FileRestorer }, read: ReadLogEntry,
): Promise<DownloadResult> {
  const report = req.reporter ?? silentReporter;
  const select = req.select ?? everything;
  const pages = selectedPages(bundle.pages, select);
  const entries = (types: FileEntry['type'][]) => selectedEntries(req.storage, pages, select, types);
  await checkEveryIncludeMatches(entries(['dir', 'file', 'symlink']), select, bundle.id);
  const index = req.index ?? await loadBlobIndex(req.storage, { tolerateDamage: true });
  const root = await prepareDestination(req.dest);
  const dirs = new DestinationDirs(root, true);
  report({ type: 'download.plan', files: bundle.files, bytes: bundle.bytes });
  const sync = req.sync ?? 'end';
  const restorer = new FileRestorer(req.storage, index, {
    concurrency: req.concurrency ?? 4, batchBytes: 16 * 1024 * 1024, keepGoing: req.keepGoing, sync, signal: req.signal,
  });
  sofar.restorer = restorer;
  let skipped = 0;
  const mtimeMatch = mtimeMatcher(root);
  const links = new LinkGroups(() => entries(['file']));
  const xattrs = new XattrRestore(report);
  let lastProgress = 0;
  // Batched as an upload's are: the first at once, then at most every 200 ms, and the last.
  const progress = (final = false) => {
    if (!final && Date.now() - lastProgress < 200) return;
    lastProgress = Date.now();
    report({ type: 'download.progress', filesDone: restorer.done.files + skipped, bytesDone: restorer.done.bytes, skipped });
  };
  try {
    for await (const entry of entries(['dir', 'file'])) {
      if (entry.type === 'dir') dirs.ensure(entry.path);
      if (entry.type !== 'file') continue;
      const place = dirs.hold(entry.path);
      let queued = false;
      try {
        if (links.defer(entry)) continue;
        xattrs.note(entry);
        const looks = req.force ? false : isComplete(place.abs, entry, mtimeMatch);
        if (looks === true || (looks === 'shared' && await links.linksOnlyInGroup(entry, place.abs, dirs))) {
          skipped++;
          if (entry.hardlink !== undefined) links.trust(entry.path);
        } else {
          queued = true;
          await restorer.add(entry, place);
        }
      } finally {
        if (!queued) place.release();
      }
      progress();
    }
    await restorer.finish();
    progress(true);
    links.trustRestored(restorer.damaged.map((d) => d.path));
  } catch (err) {
    await restorer.finish().catch(() => undefined);
    await restorer.cleanup();
    dirs.close();
    throw withIndexHint(err, index);
  }
  let linked = 0;
  if (links.pending) {
    for await (const entry of entries(['file'])) {
      if (!links.defer(entry)) continue;
      const outcome = await links.link(entry, dirs);
      if (outcome === 'linked') linked++;
      else if (outcome === 'present') skipped++;
      else restorer.damaged.push({ path: entry.path, reason: `not linked: ${entry.hardlink} of its hard-link group was not restored` });
    }
  }
  let deleted: number | undefined;
  try {
    await restoreSymlinks(entries(['symlink']), dirs);
    // Before directory attributes: removing entries changes their directories' mtimes.
    if (req.mirror && !restorer.damaged.length) deleted = await removeExtras(req.storage, bundle, root, select, report);
    await restoreDirAttributes(entries(['dir']), dirs, xattrs);
  } finally {
    dirs.close();
  }
  for (const p of restorer.xattrProblems) xattrs.problem(p.path, p.reason);
  xattrs.finish();
  if (sync === 'end' && restorer.done.files) await syncFileSystem(root);
  const got: ReadCounts = { files: restorer.done.files + linked + skipped, bytes: restorer.done.bytes };
  if (restorer.damaged.length) {
    const names = restorer.damaged.slice(0, 10).map((d) => displayName(d.path)).join(', ');
    const err = integrityError(`${restorer.damaged.length} file(s) not restored, their stored bytes are damaged: ${names}${restorer.damaged.length > 10 ? ', ...' : ''} (first: ${restorer.damaged[0]!.reason}); ${restorer.done.files} other files restored${index.missingHint()}`);
    await read.end('failed', got, err);
    throw err;
  }
  await read.end('completed', got);
  return {
    bundle: bundle.id, files: restorer.done.files + linked, bytes: restorer.done.bytes, skipped, pagesRead: pages.length,
    ...(xattrs.count ? { xattrWarnings: xattrs.count } : {}), ...(deleted === undefined ? {} : { deleted }),
  };
}

/** An INTEGRITY error (a chunk in no index) with the damaged index objects that may explain it. */
function withIndexHint(err: unknown, index: LoadedBlobIndex): unknown {
  if (!isDatamoverError(err, 'INTEGRITY') || !index.missingHint()) return err;
  return new DatamoverError('INTEGRITY', `${err.message}${index.missingHint()}`, { cause: err });
}

/**
 * The selected entries of the given types, page by page (re-read for each pass, never held whole). Every page
 * is checked as it is read (readPage: entries, sizes against chunks, count, first, last, order); paths must
 * also increase across pages: a duplicate or out-of-order path (a hostile or damaged manifest) fails with
 * INTEGRITY before anything is written for it.
 */
async function* selectedEntries(
  storage: Storage, pages: BundleDescriptor['pages'], select: PathSelector, types: FileEntry['type'][],
): AsyncGenerator<FileEntry> {
  let last: string | undefined;
  for (const page of pages) {
    for (const entry of await readPage(storage, page)) {
      checkManifestPath(entry.path);
      if (last !== undefined) checkOrder(page.key, last, entry.path);
      last = entry.path;
      if (types.includes(entry.type) && select.matches(entry.path)) yield entry;
    }
  }
}

async function prepareDestination(dest: string): Promise<string> {
  try {
    await fsp.mkdir(dest, { recursive: true });
    return await fsp.realpath(dest);
  } catch (err) {
    const code = errnoCode(err);
    throw new DatamoverError(code === 'EEXIST' || code === 'ENOTDIR' ? 'USAGE' : 'BAD_INPUT',
      `destination ${dest}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Same size and mtime, at the precision the destination keeps, and one link (a file hard-linked elsewhere is
 * rewritten, never kept or linked to: that would change or join a file outside the destination). 'shared': a
 * hard-link group member that is complete but has more links, to be checked by LinkGroups.linksOnlyInGroup.
 * Synchronous: a cached lstat costs microseconds, far less than a round trip through libuv's thread pool.
 */
function isComplete(abs: string, entry: FileEntry, mtimeMatch: MtimeMatch): boolean | 'shared' {
  try {
    const st = lstatSync(fsPath(abs), { bigint: true });
    if (!st.isFile() || st.size !== BigInt(entry.size) || !mtimeMatch(st.mtimeNs, entryMtimeNs(entry))) return false;
    if (st.nlink === 1n) return true;
    return entry.hardlink === undefined ? false : 'shared';
  } catch {
    return false;
  }
}

async function restoreSymlinks(links: AsyncIterable<FileEntry>, dirs: DestinationDirs): Promise<void> {
  for await (const entry of links) {
    await dirs.at(entry.path, async ({ abs, shown }) => {
      if (currentTarget(abs) !== entry.target) {
        const target = symlinkTarget(entry);
        const tmp = tempNameFor(abs);
        try {
          await fsp.symlink(target, fsPath(tmp));
          await fsp.rename(fsPath(tmp), fsPath(abs));
        } catch (err) {
          await fsp.rm(fsPath(tmp), { force: true });
          throw ioError(displayName(shown), err);
        }
      }
      setLinkTimes(abs, entryMtimeNs(entry));
    });
  }
}

/** The target's bytes; UNSAFE_PATH naming the entry when the (crafted) target stands for no bytes. */
function symlinkTarget(entry: FileEntry): string | Buffer {
  try {
    return fsPath(entry.target ?? '');
  } catch (err) {
    if (!(err instanceof DatamoverError)) throw err;
    throw new DatamoverError(err.code, `${displayName(entry.path)}: symlink target ${err.message}`, { cause: err });
  }
}

/** The target of the link at `abs` (string form), or undefined when there is none. */
function currentTarget(abs: string): string | undefined {
  try {
    return nameFromBytes(readlinkSync(fsPath(abs), { encoding: 'buffer' }));
  } catch {
    return undefined;
  }
}

/** Never through a link: a directory replaced by one since it was made is refused (UNSAFE_PATH), not followed. */
async function restoreDirAttributes(dirEntries: AsyncIterable<FileEntry>, dirs: DestinationDirs, xattrs: XattrRestore): Promise<void> {
  for await (const entry of dirEntries) {
    await dirs.at(entry.path, (place) => {
      xattrs.note(entry);
      xattrs.setDir(place.abs, entry);
      setAttributesNoFollow(place, entry.path, 'dir', entry.mode, entryMtimeNs(entry));
    });
  }
}
