/**
 * Paged manifests: file entries in path order, at most `pageSize` a page, each page a gzipped NDJSON object
 * whose SHA-256 the descriptor records. Pages are written as they fill; a manifest is never held whole.
 */
import { createHash } from 'node:crypto';
import { DatamoverError, integrityError } from '../errors.js';
import { readAll, type Storage } from '../storage/storage.js';
import { type FileEntry, type ManifestPage, comparePaths } from '../vocab.js';
import { gunzipLines, gzipLines } from './objects.js';

export const DEFAULT_PAGE_SIZE = 10_000;

export class ManifestWriter {
  readonly pages: ManifestPage[] = [];
  private entries: FileEntry[] = [];
  private lastPath: string | undefined;
  /** Awaited before each page is written: lets the upload make the page's packs durable and indexed first. */
  beforePage: () => Promise<void> = async () => undefined;

  /** Page `n` is written (create-only) at `pageKey(n)`. */
  constructor(
    private readonly storage: Storage, private readonly pageKey: (n: number) => string,
    private readonly pageSize = DEFAULT_PAGE_SIZE,
  ) {}

  /** Adds the next entry; entries must come in manifest order (`comparePaths`), each path once. */
  async add(entry: FileEntry): Promise<void> {
    if (this.lastPath !== undefined && comparePaths(this.lastPath, entry.path) >= 0) {
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

/** Reads one page, checking it against the descriptor's checksum. Fails with INTEGRITY on a mismatch. */
export async function readPage(storage: Storage, page: ManifestPage): Promise<FileEntry[]> {
  const data = await readAll(storage, page.key);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== page.sha256) throw integrityError(`manifest page ${page.key} does not match its checksum`);
  return gunzipLines<FileEntry>(data);
}

/** Every entry of the manifest, in order, one page in memory at a time. */
export async function* readEntries(storage: Storage, pages: readonly ManifestPage[]): AsyncGenerator<FileEntry> {
  for (const page of pages) yield* await readPage(storage, page);
}
