/**
 * A bundle's manifest read lazily, page by page: a path is found by binary search over the descriptor's page
 * records (first/last), then within the one page that can hold it. Decoded pages are kept in a small LRU, so a
 * 1M-file bundle never sits in memory whole. Every page read is checked against its record (`readPage`), so a
 * record that lies makes the read fail with INTEGRITY rather than hide entries.
 */
import type { Storage } from '../storage/storage.js';
import { type FileEntry, type ManifestPage, comparePaths } from '../vocab.js';
import { PageCache } from './page-cache.js';

interface Position { page: number; index: number }

type PathTest = (path: string) => boolean;

export class ManifestView {
  /** Pages fetched from storage by this view (a page read again after it left the cache counts again). */
  pageReads = 0;

  /** Pages are kept in `cache`: the view's own unless given one to share. */
  constructor(private readonly storage: Storage, private readonly pages: readonly ManifestPage[], private readonly cache = new PageCache()) {}

  /** The entry at `path`, or undefined. */
  async find(path: string): Promise<FileEntry | undefined> {
    const pos = await this.seek((p) => comparePaths(p, path) >= 0, 0);
    if (!pos) return undefined;
    const entry = (await this.page(pos.page))[pos.index]!;
    return entry.path === path ? entry : undefined;
  }

  /**
   * The direct children of directory `dir` ('' for the root), in manifest order. Manifest order keeps a
   * directory's subtree contiguous right after it, so each child directory's subtree is skipped by a seek:
   * pages that hold only grandchildren are never read. A deeper path whose directory has no entry of its own
   * yields that directory once, as a bare entry (mode 0755, mtime 0).
   */
  async *children(dir: string): AsyncGenerator<FileEntry> {
    const prefix = dir === '' ? '' : `${dir}/`;
    let pos = await this.seek((p) => comparePaths(p, dir) > 0, 0);
    while (pos) {
      const entry = (await this.page(pos.page))[pos.index]!;
      if (!entry.path.startsWith(prefix)) return;
      const slash = entry.path.indexOf('/', prefix.length);
      const child = slash < 0 ? entry : bareDir(entry.path.slice(0, slash));
      yield child;
      pos = child.type === 'dir' ? await this.seek(beyondSubtree(child.path), pos.page) : this.next(pos);
    }
  }

  /** The first position at or after page `from` whose path passes `test` (monotonic in manifest order). */
  private async seek(test: PathTest, from: number): Promise<Position | undefined> {
    let lo = from;
    let hi = this.pages.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (test(this.pages[mid]!.last)) hi = mid;
      else lo = mid + 1;
    }
    if (lo === this.pages.length) return undefined;
    const entries = await this.page(lo);
    let a = 0;
    let b = entries.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (test(entries[mid]!.path)) b = mid;
      else a = mid + 1;
    }
    return a < entries.length ? { page: lo, index: a } : undefined;
  }

  private next(pos: Position): Position | undefined {
    if (pos.index + 1 < this.pages[pos.page]!.count) return { page: pos.page, index: pos.index + 1 };
    return pos.page + 1 < this.pages.length ? { page: pos.page + 1, index: 0 } : undefined;
  }

  /** Page `n`, decoded and checked (through the cache). */
  private page(n: number): Promise<FileEntry[]> {
    return this.cache.get(this.storage, this.pages[n]!, () => { this.pageReads++; });
  }
}

/** Whether a path sorts after directory `dir` and everything under it. */
function beyondSubtree(dir: string): PathTest {
  const prefix = `${dir}/`;
  return (p) => comparePaths(p, dir) > 0 && !p.startsWith(prefix);
}

function bareDir(path: string): FileEntry {
  return { path, type: 'dir', size: 0, mode: 0o755, mtime: 0 };
}
