/**
 * The mark's reading of pages and the sweep's second mark (engine/gc/mark.ts, sweep.ts): a page it cannot
 * read stops the run before anything is deleted, and an index object gone between the two marks makes the
 * second one place every live chunk again (a chunk that kept its first place through that object may now
 * have no other place than a pack about to go).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { collectGarbage } from '../engine/gc/gc.js';
import { readIndexObject, writeBlobIndex } from '../engine/meta/blob-index.js';
import { openStorage } from '../engine/storage/open.js';
import { type Storage, readAll } from '../engine/storage/storage.js';
import { type IndexEntry, keys } from '../engine/vocab.js';
import { assertBundlesWhole, openLocal, sourceTree } from './gc-helpers.js';
import { cli, listFiles, storeDigest, tempDir, who } from './helpers.js';

const t = suite('gc: reading pages, and the second mark');

async function oneBundle() {
  const root = path.join(tempDir('gc-mark'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const src = sourceTree('gc-mark-src', 7, 2);
  const id = (await store.repo('r').upload({ source: src, contributor: who })).bundle.id;
  return { root, store, storage: openStorage(root), id, src };
}

t('a damaged page stops gc before anything is deleted: exit 4, one line naming the page; the store unchanged', async () => {
  const s = await oneBundle();
  const page = listFiles(s.root).find((k) => /\/manifest-0\.ndjson\.gz$/.test(k))!;
  const bytes = readFileSync(path.join(s.root, page));
  bytes[bytes.length >> 1]! ^= 0x10;
  writeFileSync(path.join(s.root, page), bytes);
  const digest = storeDigest(s.root);
  const out = cli(['--store', s.root, 'gc', '--grace', '0']);
  assert.is(out.code, 4, out.stderr);
  assert.ok(out.stderr.includes(page), out.stderr);
  assert.is(out.stderr.trim().split('\n').length, 1, out.stderr);
  assert.equal(storeDigest(s.root), digest, 'nothing written, nothing deleted');
});

t('a page line that is not an entry stops gc the same way', async () => {
  const s = await oneBundle();
  const page = listFiles(s.root).find((k) => /\/manifest-0\.ndjson\.gz$/.test(k))!;
  const { gzipSync } = await import('node:zlib');
  writeFileSync(path.join(s.root, page), gzipSync('{"path":"a","type":"file","size":1,"mode":420,"mtime":1,"chunks":[["nothex",1]]}\n'));
  const digest = storeDigest(s.root);
  const out = cli(['--store', s.root, 'gc', '--grace', '0']);
  assert.is(out.code, 4, out.stderr);
  assert.match(out.stderr, new RegExp(`${page.replace(/[.]/g, '\\.')}: line 1: .*malformed chunk`));
  assert.equal(storeDigest(s.root), digest);
});

/** Forwards to `inner`; after the sweep record is written, runs `then` once. */
function afterSweepRecord(inner: Storage, then: () => Promise<void>): Storage {
  let done = false;
  return {
    url: inner.url, capabilities: inner.capabilities,
    stat: (key, o) => inner.stat(key, o), list: (prefix, o) => inner.list(prefix, o), get: (key, o) => inner.get(key, o),
    put: async (key, body, o) => {
      const r = await inner.put(key, body, o);
      if (!done && key.startsWith('blobs/gc/sweeps/')) { done = true; await then(); }
      return r;
    },
    openMultipart: (key, o) => inner.openMultipart(key, o), delete: (k, o) => inner.delete(k, o), identity: (key) => inner.identity(key),
    ...(inner.readInto ? { readInto: inner.readInto.bind(inner) } : {}),
  };
}

t('an index object gone between the marks: every live chunk is placed again, and the copy about to go is kept', async () => {
  const s = await oneBundle();
  // A second copy of every pack under a new name, indexed by an object listed after the originals': the mark
  // places each chunk in the original, so the copies are unused, condemned and (grace 0) swept in this run.
  const originals = listFiles(s.root).filter((k) => k.startsWith(keys.indexPrefix));
  const copies: IndexEntry[] = [];
  for (const key of originals) {
    const entries = await readIndexObject(s.storage, key);
    assert.ok(Array.isArray(entries), key);
    const renamed = new Map<string, string>();
    for (const e of entries as IndexEntry[]) {
      let copy = renamed.get(e.pack);
      if (!copy) {
        renamed.set(e.pack, copy = randomBytes(32).toString('hex'));
        await s.storage.put(keys.pack(copy), await readAll(s.storage, keys.pack(e.pack)));
      }
      copies.push({ ...e, pack: copy });
    }
  }
  await writeBlobIndex(s.storage, copies);
  const copyPacks = new Set(copies.map((e) => e.pack));
  // Between the marks the original index objects vanish: the copies are then the only place of every chunk.
  const storage = afterSweepRecord(s.storage, () => s.storage.delete(originals));
  const r = await collectGarbage(storage, { graceMs: 0 });
  assert.is(r.condemned.unused, copyPacks.size, 'the copies were unused at the first mark');
  assert.is(r.swept.rescued, copyPacks.size, 'every copy is rescued by the second mark');
  for (const pack of copyPacks) assert.ok(listFiles(s.root).includes(keys.pack(pack)), `${pack} kept`);
  await assertBundlesWhole(s.store, 'r', new Map([[s.id, s.src]]));
});

t.run();
