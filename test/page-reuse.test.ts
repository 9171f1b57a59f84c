import { statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { downloadBundle } from '../engine/download/download.js';
import { ManifestWriter, type StoredPage, readEntries, readStoredPage } from '../engine/meta/manifest.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type Body, type GetOptions, type PutOptions, readAll } from '../engine/storage/storage.js';
import { uploadBundle } from '../engine/upload/upload.js';
import type { FileEntry, ManifestPage } from '../engine/vocab.js';
import { describeTree, seededBytes, tempDir, who, withRepo, writeFile } from './helpers.js';

/** Counts reads of manifest pages and keeps the bytes of every page written. */
class PageCountingStorage extends MemoryStorage {
  pageGets = 0;
  readonly pagePuts = new Map<string, Buffer>();
  override async get(key: string, opts?: GetOptions) {
    if (key.includes('/manifest-')) this.pageGets++;
    return super.get(key, opts);
  }
  override async put(key: string, body: Body, opts?: PutOptions) {
    if (key.includes('/manifest-')) this.pagePuts.set(key, Buffer.from(body as Buffer));
    return super.put(key, body, opts);
  }
}

const tuning = { pageSize: 50 };
const t = suite('manifest page reuse: an unchanged rerun writes the parent pages back, bytes unchanged');

t('unchanged rerun: every page read once and written with the parent page bytes; a change costs only its page', async () => {
  const src = tempDir('reuse-src');
  for (let i = 0; i < 400; i++) writeFile(src, `d${Math.floor(i / 100)}/f${String(i).padStart(3, '0')}.bin`, seededBytes(i, 300));
  const storage = new PageCountingStorage();
  await withRepo(storage);
  const first = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest', tuning });
  assert.is(first.pagesReused, 0);
  const pages = first.bundle.pages.length;
  assert.ok(pages >= 8, `${pages} pages`);

  storage.pageGets = 0;
  storage.pagePuts.clear();
  const second = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest', tuning });
  assert.is(storage.pageGets, pages, 'each parent page read once (by the file cache, not again by the writer)');
  assert.is(second.pagesReused, pages);
  assert.equal(second.bundle.pages.map((p) => p.sha256), first.bundle.pages.map((p) => p.sha256));
  for (const [i, page] of second.bundle.pages.entries()) {
    assert.equal(storage.pagePuts.get(page.key), await readAll(storage, first.bundle.pages[i]!.key), `page ${i} written with the parent's bytes`);
  }

  // One file rewritten (same size) and one added in the middle: the pages after them line up again.
  const victim = path.join(src, 'd1/f150.bin');
  const { mtime } = statSync(victim);
  writeFileSync(victim, seededBytes(9999, 300));
  utimesSync(victim, mtime, new Date(mtime.getTime() + 5000));
  writeFile(src, 'd2/f250a.bin', seededBytes(5555, 10));
  const third = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest', tuning });
  const changedPages = third.bundle.pages.length - third.pagesReused;
  // Three entries differ (the rewritten file, the new file and d2, whose mtime the new file changed): at most
  // their three pages are written anew, plus one cut short where the old pages line up again.
  assert.ok(third.pagesReused >= pages - 3, `${third.pagesReused} of ${third.bundle.pages.length} reused`);
  assert.ok(changedPages <= 4, `${changedPages} pages written anew`);
  const entries: FileEntry[] = [];
  for await (const e of readEntries(storage, third.bundle.pages)) entries.push(e);
  assert.is(entries.filter((e) => e.type === 'file').length, 401);
  const dest = path.join(tempDir('reuse-dest'), 'out');
  await downloadBundle({ storage, repo: 'r', ref: { label: 'latest' }, dest, contributor: who });
  assert.equal(describeTree(dest), describeTree(src));
});

t.run();

const w = suite('ManifestWriter.reusing: pages cut where an earlier page begins');

const entry = (p: string, mode = 0o644): FileEntry => ({ path: p, type: 'file', size: 0, mode, mtime: 1, chunks: [] });
const names = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `f${String(i + from).padStart(4, '0')}`);

async function writeAll(storage: MemoryStorage, tag: string, paths: string[], reuse?: StoredPage[], modeOf: (p: string) => number = () => 0o644) {
  const writer = new ManifestWriter(storage, (n) => `m/${tag}/manifest-${n}.ndjson.gz`, 10);
  if (reuse) {
    writer.reusing({ startingAt: (p) => reuse.find((page) => page.record.first === p) });
  }
  for (const p of paths) await writer.add(entry(p, modeOf(p)));
  return { pages: await writer.finish(), reused: writer.reused };
}

async function stored(storage: MemoryStorage, pages: ManifestPage[]): Promise<StoredPage[]> {
  return Promise.all(pages.map(async (p) => { const s = await readStoredPage(storage, p); return { record: s.record, data: s.data, lines: s.lines }; }));
}

w('an insertion and a change cost one page each; the entries are the new ones, in order', async () => {
  const storage = new MemoryStorage();
  const before = await writeAll(storage, 'a', names(100));
  assert.is(before.pages.length, 10);
  const parent = await stored(storage, before.pages);
  const paths = names(100);
  paths.splice(35, 0, 'f0034x'); // sorts between f0034 and f0035
  const after = await writeAll(storage, 'b', paths, parent, (p) => (p === 'f0071' ? 0o600 : 0o644));
  assert.is(after.reused, 8, 'pages 3 and 7 rewritten, the rest reused');
  const got: string[] = [];
  for await (const e of readEntries(storage, after.pages)) got.push(e.path);
  assert.equal(got, paths);
  for (const p of after.pages) assert.ok(p.count <= 11 && p.count >= 1);
});

w('a page never grows past the page size while matching: an earlier page larger than it is not reused', async () => {
  const storage = new MemoryStorage();
  const big = new ManifestWriter(storage, (n) => `m/big/manifest-${n}.ndjson.gz`, 30);
  for (const p of names(60)) await big.add(entry(p));
  const parent = await stored(storage, await big.finish());
  const after = await writeAll(storage, 'c', names(60), parent);
  assert.is(after.reused, 0);
  assert.ok(after.pages.every((p) => p.count <= 10));
});

w.run();
