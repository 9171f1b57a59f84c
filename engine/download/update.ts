/**
 * `bundle update`: brings a directory that holds bundle A to bundle B, from the two manifests: downloads only
 * entries added or whose content changed, fixes mode and mtime of entries that changed only there, and removes
 * what B no longer has. Nothing outside the destination is touched (the same path checks as a download), and
 * nothing is changed through a link: modes and mtimes are set through descriptors opened with O_NOFOLLOW.
 */
import { promises as fsp } from 'node:fs';
import type { Reporter } from '../events.js';
import { type BundleRef, resolveBundle } from '../meta/bundles.js';
import { diffBundles } from '../meta/diff.js';
import { openFormat } from '../meta/format.js';
import { readEntries } from '../meta/manifest.js';
import type { Storage } from '../storage/storage.js';
import { entryMtimeNs } from '../times.js';
import type { BundleDescriptor, Contributor, FileEntry } from '../vocab.js';
import { setLinkTimes } from '../../workers/set-times.js';
import { type DownloadResult, restoreBundle } from './download.js';
import type { SyncMode } from './file-restorer.js';
import { fsPath } from '../fs-path.js';
import { DestinationDirs, setAttributesNoFollow } from './safe-paths.js';
import { pathSetSelector } from './select.js';

export interface UpdateRequest {
  storage: Storage;
  repo: string;
  from: BundleRef;
  to: BundleRef;
  dest: string;
  contributor: Contributor;
  reporter?: Reporter;
  concurrency?: number;
  /** As for a download (default 'end'). */
  sync?: SyncMode;
}

export interface UpdateResult extends DownloadResult { from: string; removed: number; attributesFixed: number }

/** Errors as for a download; NOT_FOUND for either bundle. Rerunnable: a second run finds nothing to do but checks. */
export async function updateBundle(req: UpdateRequest): Promise<UpdateResult> {
  await openFormat(req.storage, false);
  const from = await resolveBundle(req.storage, req.repo, req.from);
  const to = await resolveBundle(req.storage, req.repo, req.to);
  const fetch = new Set<string>();
  const removed: FileEntry[] = [];
  const attributes: FileEntry[] = [];
  for await (const change of diffBundles(req.storage, from, to)) {
    if (change.kind === 'removed') removed.push(change.entry);
    else if (change.kind === 'added' || change.content) {
      if (change.kind === 'changed' && change.before.type !== change.entry.type) removed.push(change.before);
      fetch.add(change.entry.path);
    } else attributes.push(change.entry);
  }
  await addLinkGroups(req.storage, to, fetch);
  await fsp.mkdir(req.dest, { recursive: true });
  const dirs = new DestinationDirs(await fsp.realpath(req.dest));
  await removeEntries(removed, dirs);
  const result = await restoreBundle({
    ...req, ref: { bundle: to.id }, select: pathSetSelector(fetch, `changed since ${from.id}`), force: true, readType: 'bundle.update',
  }, to);
  for (const entry of attributes) await fixAttributes(entry, dirs);
  // Writing and removing entries changed the mtimes of their directories: set every directory's as in B.
  for await (const entry of readEntries(req.storage, to.pages)) if (entry.type === 'dir') await fixAttributes(entry, dirs);
  return { ...result, from: from.id, removed: removed.length, attributesFixed: attributes.length };
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

/** Removes entries deepest first, so a directory is empty when its turn comes; a missing entry is fine. */
async function removeEntries(entries: FileEntry[], dirs: DestinationDirs): Promise<void> {
  entries.sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const entry of entries) {
    const abs = dirs.resolve(entry.path);
    // Parents must be real directories: never remove through a link that leads out of the destination.
    await dirs.ensure(entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '');
    // rm removes a link itself, never what it points to.
    if (entry.type === 'dir') await fsp.rm(fsPath(abs), { recursive: true, force: true });
    else await fsp.rm(fsPath(abs), { force: true });
  }
}

/** Fails with UNSAFE_PATH naming the entry when it is a link (or another type) where B has a file or directory. */
async function fixAttributes(entry: FileEntry, dirs: DestinationDirs): Promise<void> {
  const abs = dirs.resolve(entry.path);
  await dirs.ensure(entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '');
  if (entry.type === 'symlink') return setLinkTimes(abs, entryMtimeNs(entry));
  setAttributesNoFollow(abs, entry.path, entry.type, entry.mode, entryMtimeNs(entry));
}
