/**
 * Paged manifests: file entries in path order, at most `pageSize` a page, each page a gzipped NDJSON object
 * whose SHA-256 the descriptor records. Pages are written as they fill; a manifest is never held whole.
 */
import { createHash } from 'node:crypto';
import { DatamoverError, integrityError } from '../errors.js';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type FileEntry, type ManifestPage, comparePaths } from '../vocab.js';
import { gunzipLinesWithText, gzipText } from './objects.js';
import { manifestEntry } from './validate.js';

export const DEFAULT_PAGE_SIZE = 10_000;

/** A page of the parent bundle as read: its record, its stored bytes and its lines (one entry's JSON each). */
export interface StoredPage { record: ManifestPage; data: Buffer; lines: readonly string[] }

/** Pages a writer may reuse: the earlier bundle's page whose first path is `path`, if one is still at hand. */
export interface ReusablePages { startingAt(path: string): StoredPage | undefined }

export class ManifestWriter {
  readonly pages: ManifestPage[] = [];
  /** Pages written with the bytes of an earlier bundle's page (not encoded again). */
  reused = 0;
  /** The current page: its entries' JSON lines, first and last path. */
  private lines: string[] = [];
  private firstPath = '';
  private lastPath: string | undefined;
  /** The earlier page the current page has matched line for line so far. */
  private candidate: StoredPage | undefined;
  private reuse: ReusablePages | undefined;
  /**
   * Page `n` is written (create-only) at `pageKey(n)`, each once `beforePage` resolved: an upload passes its
   * chunk store's barrier, so a page is written only when every pack it may reference is durable and indexed.
   */
  constructor(
    private readonly storage: Storage, private readonly pageKey: (n: number) => string,
    private readonly pageSize = DEFAULT_PAGE_SIZE, private readonly beforePage: () => Promise<void> = async () => undefined,
  ) {}

  /**
   * Lets the writer reuse the pages of an earlier bundle: when the entries from some page of `pages` on are
   * those of that page, line for line, the page is written with its bytes (same checksum), not encoded again.
   * So that an unchanged stretch after a change lines up with the earlier pages, a page is cut short where an
   * earlier page begins with the entry being added. Entries and order are the same either way.
   */
  reusing(pages: ReusablePages): this {
    this.reuse = pages;
    return this;
  }

  /** Adds the next entry; entries must come in manifest order (`comparePaths`), each path once. */
  async add(entry: FileEntry): Promise<void> {
    if (this.lastPath !== undefined && comparePaths(this.lastPath, entry.path) >= 0) {
      // An invariant, not a user error: a walk yields sorted unique paths, and a session commit merges shards
      // whose pages were checked for order when read (readEntries), dropping a path two shards agree on.
      throw new Error(`manifest order violated: ${entry.path} after ${this.lastPath}`);
    }
    const line = JSON.stringify(entry);
    if (this.candidate?.lines[this.lines.length] !== line) {
      this.candidate = undefined;
      if (this.reuse) await this.lineUp(entry.path, line);
    }
    this.lastPath = entry.path;
    if (!this.lines.length) this.firstPath = entry.path;
    this.lines.push(line);
    const full = this.candidate ? this.lines.length === this.candidate.lines.length : this.lines.length >= this.pageSize;
    if (full) await this.flush();
  }

  /** Writes the last partial page; returns every page. */
  async finish(): Promise<ManifestPage[]> {
    await this.flush();
    return this.pages;
  }

  /** When an earlier page begins with this very entry: ends the current page here and starts matching that one. */
  private async lineUp(path: string, line: string): Promise<void> {
    const page = this.reuse!.startingAt(path);
    if (!page || page.lines[0] !== line || page.lines.length > this.pageSize) return;
    await this.flush();
    this.candidate = page;
  }

  private async flush(): Promise<void> {
    if (!this.lines.length) return;
    await this.beforePage();
    const whole = this.candidate?.lines.length === this.lines.length ? this.candidate : undefined;
    const data = whole ? whole.data : gzipText(this.lines);
    const key = this.pageKey(this.pages.length);
    const put = await this.storage.put(key, data, { ifAbsent: true });
    // Keys are fresh per writer; a page already there is one this descriptor cannot vouch for.
    if (put.status !== 'written') throw new DatamoverError('ALREADY_EXISTS', `manifest page ${key} already exists`);
    this.pages.push({
      key, first: this.firstPath, last: this.lastPath!, count: this.lines.length, sha256: createHash('sha256').update(data).digest('hex'),
    });
    if (whole) this.reused++;
    this.lines = [];
    this.candidate = undefined;
  }
}

/**
 * Reads one page and checks it against its record in the descriptor: checksum, then every entry (see
 * `manifestEntry`: sizes against chunk lengths, path rules), then count, first and last, and strict path order
 * within the page. INTEGRITY naming the page key (and the path) on any mismatch, or when the page is missing.
 */
export async function readPage(storage: Storage, page: ManifestPage): Promise<FileEntry[]> {
  return (await readStoredPage(storage, page)).entries;
}

/** As readPage, with the page's stored bytes and lines (for a writer to reuse: `ReusablePages`). */
export async function readStoredPage(storage: Storage, page: ManifestPage): Promise<StoredPage & { entries: FileEntry[] }> {
  let data: Buffer;
  try {
    data = await readAll(storage, page.key);
  } catch (err) {
    if (isStorageError(err, 'notFound')) throw integrityError(`manifest page ${page.key} is missing`);
    throw err;
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== page.sha256) throw integrityError(`manifest page ${page.key} does not match its checksum`);
  const { lines, values: entries } = gunzipLinesWithText(page.key, data, manifestEntry);
  const wrong = (what: string) => integrityError(`manifest page ${page.key}: ${what}, its record in the descriptor says otherwise; refusing the manifest`);
  if (entries.length !== page.count) throw wrong(`${entries.length} entries`);
  if (entries[0]!.path !== page.first) throw wrong(`first path ${JSON.stringify(entries[0]!.path)}`);
  if (entries[entries.length - 1]!.path !== page.last) throw wrong(`last path ${JSON.stringify(entries[entries.length - 1]!.path)}`);
  for (let i = 1; i < entries.length; i++) checkOrder(page.key, entries[i - 1]!.path, entries[i]!.path);
  return { record: page, data, lines, entries };
}

/** INTEGRITY unless `path` sorts strictly after `previous` (manifest order). */
export function checkOrder(pageKey: string, previous: string, path: string): void {
  if (comparePaths(previous, path) < 0) return;
  throw integrityError(`manifest page ${pageKey}: ${JSON.stringify(path)} comes after ${JSON.stringify(previous)} (duplicate or out of order); refusing the manifest`);
}

/** Every entry of the manifest, in order (checked across pages too), one page in memory at a time. */
export async function* readEntries(storage: Storage, pages: readonly ManifestPage[]): AsyncGenerator<FileEntry> {
  let last: string | undefined;
  for (const page of pages) {
    const entries = await readPage(storage, page);
    if (last !== undefined) checkOrder(page.key, last, entries[0]!.path);
    last = entries[entries.length - 1]!.path;
    yield* entries;
  }
}

/**
 * Where the entries of `pages[n]` can be, trusting only the records of its neighbours: strictly after the
 * previous page's last path and before the next page's first. A reader that skips a page because the selection
 * misses this wider range never skips entries because of a damaged record of that page itself; a damaged record
 * of a neighbour widens a range (harmless) or makes the neighbour be read, where its content is checked against
 * it (INTEGRITY). So one damaged record can never make a subset read leave out entries silently.
 */
export function pageBounds(pages: readonly ManifestPage[], n: number): { after?: string; before?: string } {
  return { after: pages[n - 1]?.last, before: pages[n + 1]?.first };
}
