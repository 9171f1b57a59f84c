/**
 * The directories of a local store, made and checked without following links: a store (or a `copy` mirror)
 * whose `wal/` or `blobs/…` was replaced by a symlink must not have objects written where the link points.
 * The root itself may be a link (the user named it).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
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
    try {
      await fsp.mkdir(dir);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const st = await fsp.lstat(dir);
    if (!st.isDirectory()) {
      const what = st.isSymbolicLink() ? 'a symlink' : 'not a directory';
      throw new StorageError('permanent', `${key}: ${dir} is ${what}; refusing to write through it`);
    }
    this.checked.add(dir);
  }

  /**
   * Whether `dir` (inside the root) exists as a chain of real directories; false when a part is missing. Fails
   * like `ensure` when a part is a symlink or not a directory: a delete must not reach through one.
   */
  async exists(dir: string, key: string): Promise<boolean> {
    if (dir === this.root || this.checked.has(dir)) return true;
    if (!await this.exists(path.dirname(dir), key)) return false;
    let st;
    try {
      st = await fsp.lstat(dir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    if (!st.isDirectory()) {
      throw new StorageError('permanent', `${key}: ${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to delete through it`);
    }
    this.checked.add(dir);
    return true;
  }
}
