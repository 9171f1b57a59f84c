/**
 * Hard-link groups in a restore: the first selected member of a group (manifest order) is restored as a file;
 * the others are linked to it once every file is written, each through a temp name and a rename, so a member
 * appears whole or not at all. A member already linked to it (a rerun) is left alone. Links are made inside
 * the destination only: both names are resolved and their parents checked as every restored path is, and
 * link() never follows a symlink. Nor is anything linked to a file shared with a name outside the group: the
 * target must be one this run wrote, or found complete with every link of its inode a member of the group.
 */
import { promises as fsp, lstatSync } from 'node:fs';
import { fsPath } from '../fs-path.js';
import type { FileEntry } from '../vocab.js';
import { tempNameFor } from './temp-names.js';
import type { DestinationDirs } from './destination-dirs.js';

export class LinkGroups {
  /** Group id → the manifest path of the member restored as a file. */
  private readonly first = new Map<string, string>();
  /** Members waiting to be linked. */
  pending = 0;
  /** Group id → the manifest paths of its selected members, once learnt (only a rerun's check needs them). */
  private members?: Map<string, string[]>;
  /** First members written by this run or found complete with no link outside their group. */
  private readonly trusted = new Set<string>();

  /** @param selectedFiles a new pass over the selected files, read once if a group's members are needed. */
  constructor(private readonly selectedFiles: () => AsyncIterable<FileEntry>) {}

  private async groupMembers(group: string): Promise<string[]> {
    if (!this.members) {
      const members = new Map<string, string[]>();
      for await (const entry of this.selectedFiles()) {
        if (entry.hardlink === undefined) continue;
        const list = members.get(entry.hardlink);
        if (list) list.push(entry.path);
        else members.set(entry.hardlink, [entry.path]);
      }
      this.members = members;
    }
    return this.members.get(group) ?? [];
  }

  /**
   * Whether the complete-looking member at `abs` (with more than one link) has every link of its inode among
   * its group's names in the destination: a rerun's group. A link to a file elsewhere makes it false (rewritten).
   */
  async linksOnlyInGroup(entry: FileEntry, abs: string, dirs: DestinationDirs): Promise<boolean> {
    const members = await this.groupMembers(entry.hardlink!);
    const st = lstatSync(fsPath(abs), { throwIfNoEntry: false });
    if (!st?.isFile() || st.nlink > members.length) return false;
    let sharing = 0;
    for (const member of members) {
      const other = await dirs.at(member, ({ abs: path }) => lstatSync(fsPath(path), { throwIfNoEntry: false }));
      if (other?.isFile() && other.ino === st.ino && other.dev === st.dev) sharing++;
    }
    return sharing === st.nlink;
  }

  /** Marks a first member as a file link() may target: this run wrote it, or linksOnlyInGroup said so. */
  trust(path: string): void {
    this.trusted.add(path);
  }

  /** Trusts every first member restored by this run: all but the `damaged` ones (not written). */
  trustRestored(damaged: Iterable<string>): void {
    const bad = new Set(damaged);
    for (const path of this.first.values()) if (!bad.has(path)) this.trusted.add(path);
  }

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
   * that file, or 'missing' when the member is not there as a regular file this run wrote or trusts (it was not
   * restored: damaged), or it has more links than its group has members.
   */
  async link(entry: FileEntry, dirs: DestinationDirs): Promise<'linked' | 'present' | 'missing'> {
    const firstPath = this.first.get(entry.hardlink!)!;
    const target = dirs.hold(firstPath);
    try {
      return await dirs.at(entry.path, ({ abs }) => this.linkTo(entry, firstPath, fsPath(target.abs), abs));
    } finally {
      target.release();
    }
  }

  private async linkTo(entry: FileEntry, firstPath: string, target: string | Buffer, abs: string): Promise<'linked' | 'present' | 'missing'> {
    const st = await fsp.lstat(target).catch(() => undefined);
    if (!st?.isFile() || !this.trusted.has(firstPath)) return 'missing';
    // Learnt only when a rerun found a group complete; a file this run wrote has no link but the group's.
    if (this.members && st.nlink > (this.members.get(entry.hardlink!)?.length ?? 1)) return 'missing';
    const current = await fsp.lstat(fsPath(abs)).catch(() => undefined);
    if (current?.isFile() && current.ino === st.ino && current.dev === st.dev) return 'present';
    const tmp = fsPath(tempNameFor(abs));
    await fsp.link(target, tmp);
    try {
      await fsp.rename(tmp, fsPath(abs));
    } catch (err) {
      await fsp.rm(tmp, { force: true });
      throw err;
    }
    return 'linked';
  }
}
