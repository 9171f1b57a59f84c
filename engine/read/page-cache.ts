/**
 * Decoded manifest pages kept for readers, least recently used dropped first, bounded by the entries they hold
 * (what their memory grows with). A reader has its own, or shares one with other readers of the store (a
 * server's: ReaderOptions.pages); pages are keyed by key and checksum, so bundles sharing a page share it here.
 */
import { readPage } from '../meta/manifest.js';
import type { Storage } from '../storage/storage.js';
import type { FileEntry, ManifestPage } from '../vocab.js';

/** A reader's own cache: 8 full pages (a listing walks forward, a stat storm hits one directory's pages). */
export const DEFAULT_PAGE_ENTRIES = 80_000;

export class PageCache {
  private readonly pages = new Map<string, { entries: Promise<FileEntry[]>; count: number }>();
  private held = 0;

  /** Keeps pages up to `maxEntries` entries in all; the page used last is kept even when it alone is over. */
  constructor(readonly maxEntries = DEFAULT_PAGE_ENTRIES) {}

  /**
   * Page `record`'s entries, checked against the record (`readPage`: INTEGRITY on a mismatch), marked most
   * recently used. `onRead` is called when the page is read from storage; a failed read is not kept.
   */
  get(storage: Storage, record: ManifestPage, onRead: () => void): Promise<FileEntry[]> {
    const id = `${record.key}\n${record.sha256}`;
    const held = this.pages.get(id);
    if (held) {
      this.pages.delete(id);
      this.pages.set(id, held);
      return held.entries;
    }
    onRead();
    const page = { entries: readPage(storage, record), count: record.count };
    page.entries.catch(() => { if (this.pages.get(id) === page) this.drop(id); });
    this.pages.set(id, page);
    this.held += page.count;
    for (const key of this.pages.keys()) {
      if (this.held <= this.maxEntries || key === id) break;
      this.drop(key);
    }
    return page.entries;
  }

  private drop(id: string): void {
    this.held -= this.pages.get(id)!.count;
    this.pages.delete(id);
  }
}
