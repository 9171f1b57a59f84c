import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import { collectGarbage } from '../engine/gc/gc.js';
import { openStorage } from '../engine/storage/open.js';
import type { Storage } from '../engine/storage/storage.js';
import { cli, listFiles, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { MiB, assertBundlesWhole, forgetBundle, openLocal, packBytes, sourceTree, storeDigest } from './gc-helpers.js';

const t = suite('gc: mark, repack, condemn, sweep (local store)');

/** Bundles: A (unique 4 MiB + shared 3 MiB), B (shared + unique 2 MiB), C (unique 5 MiB). */
async function threeBundles() {
  const root = path.join(tempDir('gc'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const repo = store.repo('r');
  const srcA = sourceTree('gc-a', 1, 4, 100);
  const srcB = sourceTree('gc-b', 2, 2, 100);
  const srcC = sourceTree('gc-c', 3, 5);
  const a = (await repo.upload({ source: srcA, contributor: who })).bundle.id;
  const b = (await repo.upload({ source: srcB, contributor: who })).bundle.id;
  const c = (await repo.upload({ source: srcC, contributor: who })).bundle.id;
  return { root, store, storage: openStorage(root), a, b, c, srcA, srcB, srcC };
}

t('after forgetting A and C: C\'s pack goes, A\'s pack is repacked (its shared chunk lives on in B), B stays whole', async () => {
  const s = await threeBundles();
  const before = packBytes(s.root);
  await forgetBundle(s.storage, 'r', s.a);
  await forgetBundle(s.storage, 'r', s.c);
  const r = await s.store.gc({ graceMs: 0 });
  assert.is(r.problems.length, 0, r.problems.join('; '));
  assert.is(r.condemned.unused, 1, 'C\'s pack has no live chunk');
  assert.is(r.repacked.packs, 1, 'A\'s pack is mostly unused and holds B\'s shared chunk');
  assert.is(r.swept.packs, 2);
  const after = packBytes(s.root);
  const forgottenUnique = (4 + 5) * MiB;
  assert.ok(before - after >= forgottenUnique * 0.9, `shrank by ${before - after} bytes, forgotten unique ${forgottenUnique}`);
  await assertBundlesWhole(s.store, 'r', new Map([[s.b, s.srcB]]));
  const again = await s.store.gc({ graceMs: 0 });
  assert.is(again.swept.packs + again.condemned.packs + again.repacked.packs, 0, 'a second run finds nothing');
});

t('a live chunk in no index object (its index object gone, or a FIFO in its place) fails gc with INTEGRITY and deletes nothing', async () => {
  const s = await threeBundles();
  const indexDir = path.join(s.root, 'blobs', 'index');
  const { readdirSync, rmSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const victim = path.join(indexDir, readdirSync(indexDir)[0]!);
  rmSync(victim);
  execFileSync('mkfifo', [victim]);
  const before = packBytes(s.root);
  await s.store.gc({ graceMs: 0 }).then(() => assert.unreachable('gc succeeded'), (err) => assert.is((err as { code?: string }).code, 'INTEGRITY'));
  assert.is(packBytes(s.root), before, 'no pack deleted');
});

/** Forwards to `inner`, counting the reads of each key. */
function countingReads(inner: Storage): { storage: Storage; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const count = (key: string) => reads.set(key, (reads.get(key) ?? 0) + 1);
  const storage: Storage = {
    url: inner.url,
    capabilities: inner.capabilities,
    stat: (key, o) => inner.stat(key, o),
    list: (prefix, o) => inner.list(prefix, o),
    get: (key, o) => { count(key); return inner.get(key, o); },
    put: (key, body, o) => inner.put(key, body, o),
    openMultipart: (key, o) => inner.openMultipart(key, o),
    delete: (keys, o) => inner.delete(keys, o),
    identity: (key) => inner.identity(key),
  };
  if (inner.readInto) storage.readInto = (key, range, into, o) => { count(key); return inner.readInto!(key, range, into, o); };
  return { storage, reads };
}

t('one run reads each index object once: the mark, the sweep\'s second mark and the merge share what was read', async () => {
  const s = await threeBundles();
  await forgetBundle(s.storage, 'r', s.a);
  await forgetBundle(s.storage, 'r', s.c);
  const before = listFiles(s.root).filter((k) => k.startsWith('blobs/index/'));
  assert.ok(before.length >= 3, `index objects before: ${before.length}`);
  const { storage, reads } = countingReads(s.storage);
  const r = await collectGarbage(storage, { graceMs: 0 });
  assert.is(r.repacked.packs, 1, 'a repack writes an index object the sweep must read too');
  assert.is(r.swept.packs, 2);
  const indexReads = [...reads].filter(([key]) => key.startsWith('blobs/index/'));
  for (const key of before) assert.is(reads.get(key), 1, `${key} read ${reads.get(key) ?? 0} times`);
  for (const [key, n] of indexReads) assert.is(n, 1, `${key} read ${n} times`);
  assert.is(indexReads.length, before.length + 1, 'the objects there before, and the repack\'s');
  assert.is(r.swept.indexReplaced, indexReads.length, 'the merge replaced every object read');
  await assertBundlesWhole(s.store, 'r', new Map([[s.b, s.srcB]]));
});

t('with a grace period a run only condemns; the packs go in a later run past the grace', async () => {
  const s = await threeBundles();
  await forgetBundle(s.storage, 'r', s.c);
  const first = await s.store.gc({ graceMs: 3_600_000 });
  assert.is(first.condemned.packs, 1);
  assert.is(first.swept.packs, 0);
  assert.is(first.waiting.packs, 1);
  await assertBundlesWhole(s.store, 'r', new Map([[s.a, s.srcA], [s.b, s.srcB]]));
  const second = await s.store.gc({ graceMs: 0 });
  assert.is(second.swept.packs, 1);
  await assertBundlesWhole(s.store, 'r', new Map([[s.a, s.srcA], [s.b, s.srcB]]));
});

t('an upload after a condemnation never deduplicates against the condemned pack: it stores its own copy', async () => {
  const s = await threeBundles();
  await forgetBundle(s.storage, 'r', s.c);
  await s.store.gc({ graceMs: 3_600_000 }); // C's pack condemned, not yet deleted
  const again = await s.store.repo('r').upload({ source: s.srcC, contributor: who });
  assert.ok(again.bundle.stats.newBytes >= 5 * MiB, `stored anew: ${again.bundle.stats.newBytes}`);
  const r = await s.store.gc({ graceMs: 0 });
  assert.is(r.swept.packs, 1, 'the condemned pack goes');
  await assertBundlesWhole(s.store, 'r', new Map([[s.a, s.srcA], [s.b, s.srcB], [again.bundle.id, s.srcC]]));
});

t('a small pack whose trailer is most of its size is not unused space: nothing to repack', async () => {
  const root = path.join(tempDir('gc-small'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const src = tempDir('gc-small-src');
  for (let i = 0; i < 3; i++) writeFile(src, `f${i}.txt`, `tiny ${i}\n`);
  await store.repo('r').upload({ source: src, contributor: who });
  const r = await store.gc({ graceMs: 0 });
  assert.equal([r.repacked.packs, r.condemned.packs, r.reclaimableBytes], [0, 0, 0]);
});

t('--dry-run writes nothing and reports what it would reclaim', async () => {
  const s = await threeBundles();
  await forgetBundle(s.storage, 'r', s.a);
  await forgetBundle(s.storage, 'r', s.c);
  const digest = storeDigest(s.root);
  const out = cli(['--store', s.root, '--json', 'gc', '--dry-run', '--grace', '0']);
  assert.is(out.code, 0, out.stderr);
  const sum = summaryOf(out.stdout);
  assert.ok(sum.reclaimableBytes >= 9 * MiB * 0.9, `reclaimable ${sum.reclaimableBytes}`);
  assert.equal(storeDigest(s.root), digest, 'store unchanged byte for byte');
});

t('bad flags: one line naming the flag, exit 2, store unchanged', async () => {
  const s = await threeBundles();
  const digest = storeDigest(s.root);
  for (const args of [['--max-unused', '150%'], ['--max-unused', '-1'], ['--grace', '-5m'], ['--grace', 'soon'], ['--grace', '99999d']]) {
    const out = cli(['--store', s.root, 'gc', ...args]);
    assert.is(out.code, 2, `${args.join(' ')}: ${out.stderr}`);
    assert.ok(out.stderr.includes(args[0]!), out.stderr);
    assert.is(out.stderr.trim().split('\n').length, 1, out.stderr);
  }
  assert.equal(storeDigest(s.root), digest);
});

t('a second gc while one holds the lock: CONFLICT naming the holder, exit 1', async () => {
  const s = await threeBundles();
  const { GcLock } = await import('../engine/gc/lock.js');
  const lock = await GcLock.take(s.storage);
  try {
    const out = cli(['--store', s.root, 'gc']);
    assert.is(out.code, 1, out.stderr);
    assert.match(out.stderr, /another gc holds/);
  } finally {
    await lock.release();
  }
});

t.run();
