/**
 * Hard-link groups in a restore: the first selected member of a group (manifest order) is restored as a file;
 * the others are linked to it once every file is written, each through a temp name and a rename, so a member
 * appears whole or not at all. A member already linked to it (a rerun) is left alone. Links are made inside
 * the destination only: both names are resolved and their parents checked as every restored path is, and
 * link() never follows a symlink.
 */
import { promises as fsp } from 'node:fs';
import type { FileEntry } from '../vocab.js';
import { tempNameFor } from './temp-names.js';
import type { DestinationDirs } from './safe-paths.js';

export class LinkGroups {
  /** Group id → the manifest path of the member restored as a file. */
  private readonly first = new Map<string, string>();
  /** Members waiting to be linked. */
  pending = 0;

  /** True when `entry` is to be linked to a member restored before it, false when it is restored itself. */
  defer(entry: FileEntry): boolean {
    if (entry.hardlink === undefined) return false;
    const first = this.first.get(entry.hardlink);
    if (first === undefined) {
      this.first.set(entry.hardlink, entry.path);
      return false;
    }
    if (first === entry.path) return false;
    this.pending++;
    return true;
  }

  /**
   * Links `entry` (deferred earlier) to its group's restored member: 'linked', 'present' when it already is
   * that file, or 'missing' when the member is not there as a regular file (it was not restored: damaged).
   */
  async link(entry: FileEntry, dirs: DestinationDirs): Promise<'linked' | 'present' | 'missing'> {
    const firstPath = this.first.get(entry.hardlink!)!;
    const target = dirs.resolve(firstPath);
    const abs = dirs.resolve(entry.path);
    await dirs.ensure(parentOf(firstPath));
    await dirs.ensure(parentOf(entry.path));
    const st = await fsp.lstat(target).catch(() => undefined);
    if (!st?.isFile()) return 'missing';
    const current = await fsp.lstat(abs).catch(() => undefined);
    if (current?.isFile() && current.ino === st.ino && current.dev === st.dev) return 'present';
    const tmp = tempNameFor(abs);
    await fsp.link(target, tmp);
    try {
      await fsp.rename(tmp, abs);
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return 'linked';
  }
}

function parentOf(rel: string): string {
  const cut = rel.lastIndexOf('/');
  return cut < 0 ? '' : rel.slice(0, cut);
}
