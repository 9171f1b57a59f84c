/**
 * The directories of a local store, made and checked without following links: a store (or a `copy` mirror)
 * whose `wal/` or `blobs/…` was replaced by a symlink must not have objects written where the link points.
 * The root itself may be a link (the user named it).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { makeRealDir, realDirAt } from '../real-dir.js';
import { StorageError } from './storage.js';

export class RealDirs {
  private readonly checked = new Set<string>();

  constructor(private readonly root: string) {}

  /**
   * Makes `dir` (inside the root) and every directory between, each a real directory. Fails with a permanent
   * StorageError naming `key` when one is a symlink or not a directory. Checked once per directory and instance.
   */
  async ensure(dir: string, key: string): Promise<void> {
    if (this.checked.has(dir)) return;
    if (dir === this.root || !dir.startsWith(`${this.root}${path.sep}`)) {
      await fsp.mkdir(dir, { recursive: true }); // the root, followed if it is a link: the user named it
      this.checked.add(dir);
      return;
    }
    await this.ensure(path.dirname(dir), key);
    const state = await makeRealDir(dir);
    if (state !== 'made' && state !== 'existed') throw new StorageError('permanent', `${key}: ${dir} is ${state}; refusing to write through it`);
    this.checked.add(dir);
  }

  /**
   * Whether `dir` (inside the root) exists as a chain of real directories; false when a part is missing. Fails
   * like `ensure` when a part is a symlink or not a directory: a delete must not reach through one.
   */
  async exists(dir: string, key: string): Promise<boolean> {
    if (dir === this.root || this.checked.has(dir)) return true;
    if (!await this.exists(path.dirname(dir), key)) return false;
    const state = await realDirAt(dir);
    if (state === undefined) return false;
    if (state !== 'existed') throw new StorageError('permanent', `${key}: ${dir} is ${state}; refusing to delete through it`);
    this.checked.add(dir);
    return true;
  }
}
