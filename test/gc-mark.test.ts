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
import { assertBundlesWhole, forgetBundle, openLocal, sourceTree } from './gc-helpers.js';
import { cli, listFiles, storeDigest, tempDir, who } from './helpers.js';

const t = suite('gc: reading pages, the second mark, the order of the sweep');

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

/** Forwards to `inner`; after the sweep record is written, runs `then` once with the packs it names. */
function afterSweepRecord(inner: Storage, then: (doomed: string[]) => Promise<void>): Storage {
  let done = false;
  return {
    url: inner.url, capabilities: inner.capabilities,
    stat: (key, o) => inner.stat(key, o), list: (prefix, o) => inner.list(prefix, o), get: (key, o) => inner.get(key, o),
    put: async (key, body, o) => {
      const r = await inner.put(key, body, o);
      if (!done && key.startsWith('blobs/gc/sweeps/')) {
        done = true;
        await then((JSON.parse(Buffer.concat(([] as Uint8Array[]).concat(body as never)).toString()) as { packs: string[] }).packs);
      }
      return r;
    },
    openMultipart: (key, o) => inner.openMultipart(key, o), delete: (k, o) => inner.delete(k, o), identity: (key) => inner.identity(key),
    ...(inner.readInto ? { readInto: inner.readInto.bind(inner) } : {}),
  };
}

t('an index object gone between the marks: every live chunk is placed again, and the copy about to go is kept', async () => {
  const s = await oneBundle();
  // A second copy of the bundle's pack under a new name, in an index object of its own. The mark places the
  // chunks in whichever of the two objects it read first; the other pack is unused, condemned and (grace 0)
  // swept in this run.
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
  const copyObject = await writeBlobIndex(s.storage, copies);
  const copyPacks = new Set(copies.map((e) => e.pack));
  assert.is(copyPacks.size, 1, 'one pack a side: the mark places every chunk on one side');
  // Between the marks the index object of the side kept vanishes: the pack about to go is then the only place
  // of every chunk, and the second mark must see that.
  let doomedSide: string[] = [];
  const storage = afterSweepRecord(s.storage, async (doomed) => {
    doomedSide = doomed;
    await s.storage.delete(doomed.every((p) => copyPacks.has(p)) ? originals : [copyObject]);
  });
  const r = await collectGarbage(storage, { graceMs: 0 });
  assert.is(r.condemned.unused, 1, 'one side was unused at the first mark');
  assert.is(doomedSide.length, 1);
  assert.is(r.swept.rescued, 1, 'the side about to go is rescued by the second mark');
  assert.ok(listFiles(s.root).includes(keys.pack(doomedSide[0]!)), 'and kept');
  await assertBundlesWhole(s.store, 'r', new Map([[s.id, s.src]]));
});

/** Forwards to `inner`, logging each put when done, each delete when it starts (`-key`) and when done (`x key`). */
function loggingWrites(inner: Storage, log: string[]): Storage {
  return {
    url: inner.url, capabilities: inner.capabilities,
    stat: (key, o) => inner.stat(key, o), list: (prefix, o) => inner.list(prefix, o), get: (key, o) => inner.get(key, o),
    put: async (key, body, o) => { const r = await inner.put(key, body, o); log.push(`+ ${key}`); return r; },
    openMultipart: (key, o) => inner.openMultipart(key, o),
    delete: async (ks, o) => { for (const k of ks) log.push(`- ${k}`); await inner.delete(ks, o); for (const k of ks) log.push(`x ${k}`); },
    identity: (key) => inner.identity(key),
    ...(inner.readInto ? { readInto: inner.readInto.bind(inner) } : {}),
  };
}

t('the sweep\'s order: new index, then the old objects naming a doomed pack, then the packs (with the other old objects), then the records', async () => {
  const s = await oneBundle();
  const keptObjects = listFiles(s.root).filter((k) => k.startsWith(keys.indexPrefix));
  const gone = (await s.store.repo('r').upload({ source: sourceTree('gc-mark-gone', 8, 2), contributor: who })).bundle.id;
  await forgetBundle(s.storage, 'r', gone);
  const log: string[] = [];
  const r = await collectGarbage(loggingWrites(s.storage, log), { graceMs: 0 });
  assert.is(r.swept.packs, 1, 'the forgotten bundle\'s pack goes');
  const at = (prefix: string, pred: (k: string) => boolean = () => true) => log.flatMap((l, i) => (l.startsWith(prefix) && pred(l.slice(2)) ? [i] : []));
  const isIndex = (k: string) => k.startsWith(keys.indexPrefix);
  const newIndex = at('+ ', isIndex);
  assert.is(newIndex.length, 1, 'one merged index object');
  const oldDeleted = at('x ', isIndex);
  const naming = log.filter((l) => l.startsWith('x ') && isIndex(l.slice(2)) && !keptObjects.includes(l.slice(2)));
  const superseded = log.filter((l) => l.startsWith('x ') && keptObjects.includes(l.slice(2)));
  assert.ok(naming.length >= 1 && superseded.length >= 1, log.join('\n'));
  const firstPackDelete = Math.min(...at('- ', (k) => k.startsWith('blobs/packs/')));
  const lastPackDelete = Math.max(...at('x ', (k) => k.startsWith('blobs/packs/')));
  assert.ok(newIndex[0]! < Math.min(...at('- ', isIndex)), 'the new index is written before any old object goes');
  for (const line of naming) assert.ok(log.indexOf(line) < firstPackDelete, `${line} is gone before the first pack is deleted`);
  assert.ok(oldDeleted.length === naming.length + superseded.length);
  for (const i of at('- ', (k) => k.startsWith('blobs/gc/'))) assert.ok(i > lastPackDelete, `${log[i]} after the packs`);
  await assertBundlesWhole(s.store, 'r', new Map([[s.id, s.src]]));
});

t.run();
