/**
 * Paged manifests: file entries in path order, at most `pageSize` a page, each page a gzipped NDJSON object
 * whose SHA-256 the descriptor records. Pages are written as they fill; a manifest is never held whole.
 */
import { createHash } from 'node:crypto';
import { DatamoverError, integrityError } from '../errors.js';
import { isStorageError, readAll, type Storage } from '../storage/storage.js';
import { type FileEntry, type ManifestPage, comparePaths } from '../vocab.js';
import { gunzipLines, gzipLines } from './objects.js';
import { manifestEntry } from './validate.js';

export const DEFAULT_PAGE_SIZE = 10_000;

export class ManifestWriter {
  readonly pages: ManifestPage[] = [];
  private entries: FileEntry[] = [];
  private lastPath: string | undefined;
  /**
   * Page `n` is written (create-only) at `pageKey(n)`, each once `beforePage` resolved: an upload passes its
   * chunk store's barrier, so a page is written only when every pack it may reference is durable and indexed.
   */
  constructor(
    private readonly storage: Storage, private readonly pageKey: (n: number) => string,
    private readonly pageSize = DEFAULT_PAGE_SIZE, private readonly beforePage: () => Promise<void> = async () => undefined,
  ) {}

  /** Adds the next entry; entries must come in manifest order (`comparePaths`), each path once. */
  async add(entry: FileEntry): Promise<void> {
    if (this.lastPath !== undefined && comparePaths(this.lastPath, entry.path) >= 0) {
      // An invariant, not a user error: a walk yields sorted unique paths, and a session commit merges shards
      // whose pages were checked for order when read (readEntries), dropping a path two shards agree on.
      throw new Error(`manifest order violated: ${entry.path} after ${this.lastPath}`);
    }
    this.lastPath = entry.path;
    this.entries.push(entry);
    if (this.entries.length >= this.pageSize) await this.flush();
  }

  /** Writes the last partial page; returns every page. */
  async finish(): Promise<ManifestPage[]> {
    await this.flush();
    return this.pages;
  }

  private async flush(): Promise<void> {
    if (!this.entries.length) return;
    await this.beforePage();
    const data = gzipLines(this.entries);
    const key = this.pageKey(this.pages.length);
    const put = await this.storage.put(key, data, { ifAbsent: true });
    // Keys are fresh per writer; a page already there is one this descriptor cannot vouch for.
    if (put.status !== 'written') throw new DatamoverError('ALREADY_EXISTS', `manifest page ${key} already exists`);
    this.pages.push({
      key, first: this.entries[0].path, last: this.entries[this.entries.length - 1].path,
      count: this.entries.length, sha256: createHash('sha256').update(data).digest('hex'),
    });
    this.entries = [];
  }
}

/**
 * Reads one page and checks it against its record in the descriptor: checksum, then every entry (see
 * `manifestEntry`: sizes against chunk lengths, path rules), then count, first and last, and strict path order
 * within the page. INTEGRITY naming the page key (and the path) on any mismatch, or when the page is missing.
 */
export async function readPage(storage: Storage, page: ManifestPage): Promise<FileEntry[]> {
  let data: Buffer;
  try {
    data = await readAll(storage, page.key);
  } catch (err) {
    if (isStorageError(err, 'notFound')) throw integrityError(`manifest page ${page.key} is missing`);
    throw err;
  }
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== page.sha256) throw integrityError(`manifest page ${page.key} does not match its checksum`);
  const entries = gunzipLines(page.key, data, manifestEntry);
  const wrong = (what: string) => integrityError(`manifest page ${page.key}: ${what}, its record in the descriptor says otherwise; refusing the manifest`);
  if (entries.length !== page.count) throw wrong(`${entries.length} entries`);
  if (entries[0]!.path !== page.first) throw wrong(`first path ${JSON.stringify(entries[0]!.path)}`);
  if (entries[entries.length - 1]!.path !== page.last) throw wrong(`last path ${JSON.stringify(entries[entries.length - 1]!.path)}`);
  for (let i = 1; i < entries.length; i++) checkOrder(page.key, entries[i - 1]!.path, entries[i]!.path);
  return entries;
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
