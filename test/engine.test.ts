import { copyFileSync, mkdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { downloadBundle } from '../engine/download/download.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { LocalStorage } from '../engine/storage/local.js';
import type { Storage } from '../engine/storage/storage.js';
import { describeTree, makeMixedTree, seededBytes, tempDir, writeFile, who, withRepo } from './helpers.js';


const freshStore = (storage: Storage = new LocalStorage(tempDir('store'))) => withRepo(storage);

const t = suite('engine: upload and download');

t('round trip is byte-identical: empty files, multi-chunk file, 10,000 small files, unicode, nested symlinks, empty dirs', async () => {
  const src = tempDir('src');
  makeMixedTree(src, 10_000);
  const storage = await freshStore();
  const up = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest' });
  assert.is(up.bundle.files, 10_000 + 6); // 2 empty, 1 multi-chunk, 3 unicode
  const dest = path.join(tempDir('dest'), 'out');
  const down = await downloadBundle({ storage, repo: 'r', ref: { label: 'latest' }, dest, contributor: who });
  assert.is(down.files, up.bundle.files);
  assert.equal(describeTree(dest), describeTree(src));
  const again = await downloadBundle({ storage, repo: 'r', ref: { bundle: up.bundle.id }, dest, contributor: who });
  assert.is(again.files, 0, 'a rerun writes nothing');
  assert.is(again.skipped, up.bundle.files);
  rmSync(src, { recursive: true, force: true });
});

t('the same tree twice: the second bundle stores < 1% new bytes', async () => {
  const src = tempDir('twice');
  makeMixedTree(src, 500);
  const storage = await freshStore();
  const first = await uploadBundle({ storage, repo: 'r', source: src, contributor: who });
  const second = await uploadBundle({ storage, repo: 'r', source: src, contributor: who });
  assert.ok(first.bundle.stats.newBytes > 9 * 1024 * 1024);
  assert.ok(second.bundle.stats.newBytes < first.bundle.bytes / 100, `new bytes ${second.bundle.stats.newBytes}`);
  assert.is(second.bundle.stats.packs, 0);
});

t('memory does not grow with the tree: at most 8,192 + one job of scanned entries wait for the manifest (30,000 files, first upload and unchanged rerun)', async () => {
  const src = tempDir('many');
  for (let d = 0; d < 30; d++) {
    mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 1000; i++) writeFileSync(path.join(src, `d${d}`, `f${i}`), `${d}/${i}`);
  }
  const storage = await freshStore();
  const first = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'l' });
  const rerun = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'l' });
  assert.is(rerun.bundle.stats.unchangedBytes, first.bundle.bytes, 'the rerun took every file from the file cache');
  for (const [run, r] of [['first', first], ['rerun', rerun]] as const) {
    assert.ok(r.peakPendingEntries <= 8192 + 1024, `${run}: ${r.peakPendingEntries} entries held at once`);
  }
});

t('two copies of one large file are stored once', async () => {
  const src = tempDir('copies');
  writeFile(src, 'a/big.bin', seededBytes(7, 13 * 1024 * 1024));
  mkdirSync(path.join(src, 'b'));
  copyFileSync(path.join(src, 'a/big.bin'), path.join(src, 'b/same.bin'));
  const storage = await freshStore();
  const up = await uploadBundle({ storage, repo: 'r', source: src, contributor: who });
  assert.is(up.bundle.bytes, 26 * 1024 * 1024);
  assert.is(up.bundle.stats.newBytes, 13 * 1024 * 1024);
  assert.is(up.bundle.stats.dedupBytes, 13 * 1024 * 1024);
});

t('hashing runs in worker threads while the main thread stays responsive', async () => {
  const src = tempDir('threads');
  for (let i = 0; i < 6; i++) writeFile(src, `f${i}.bin`, seededBytes(i, 24 * 1024 * 1024));
  // The local store: the in-memory one copies each part and each completed pack on the main thread (up to
  // 300 ms per 64 MiB pack here, over 1 s on a loaded machine), its own cost, not the engine's.
  const storage = await freshStore();
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const up = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, tuning: { workers: 2 } });
  delay.disable();
  assert.ok(up.hashThreads.length >= 1);
  assert.not.ok(up.hashThreads.includes(0), `main thread (id 0) must not hash: ${up.hashThreads}`);
  // Generous bound: hashing 144 MiB on the main thread would block it for ~100 ms per 4 MiB chunk batch.
  assert.ok(delay.max / 1e6 < 1_000, `event loop blocked ${delay.max / 1e6} ms`);
});

t('download refuses to write through a symlink planted in the destination', async () => {
  const src = tempDir('plant');
  writeFile(src, 'dir/file.txt', 'payload');
  const storage = await freshStore();
  const up = await uploadBundle({ storage, repo: 'r', source: src, contributor: who });
  const dest = tempDir('plant-dest');
  const outside = tempDir('outside');
  symlinkSync(outside, path.join(dest, 'dir'));
  try {
    await downloadBundle({ storage, repo: 'r', ref: { bundle: up.bundle.id }, dest, contributor: who });
    assert.unreachable();
  } catch (err) {
    assert.is((err as { code?: string }).code, 'UNSAFE_PATH');
  }
  assert.equal(describeTree(outside), new Map());
});

t.run();

const fc = suite('engine: file cache from the parent bundle');

fc('an unchanged tree is not read again; a file rewritten with its old size and mtime is (ctime); --rehash reads all', async () => {
  const src = tempDir('fc-src');
  for (let i = 0; i < 200; i++) writeFile(src, `d${i % 10}/f${i}.bin`, seededBytes(i, 5000));
  const storage = await freshStore();
  const first = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest' });
  assert.is(first.bundle.stats.unchangedBytes, 0);
  const second = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest' });
  assert.is(second.bundle.stats.unchangedBytes, first.bundle.bytes, 'every file came from the parent');
  assert.is(second.hashThreads.length, 0, 'nothing was hashed');
  // Same size, same mtime, different bytes: only the ctime tells.
  const victim = path.join(src, 'd3/f13.bin');
  const { mtime } = statSync(victim);
  writeFileSync(victim, seededBytes(777, 5000));
  utimesSync(victim, mtime, mtime);
  const third = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest' });
  assert.is(third.bundle.stats.newBytes, 5000);
  assert.is(third.bundle.stats.unchangedBytes, first.bundle.bytes - 5000);
  const dest = path.join(tempDir('fc-dest'), 'out');
  await downloadBundle({ storage, repo: 'r', ref: { label: 'latest' }, dest, contributor: who });
  assert.equal(describeTree(dest), describeTree(src));
  const rehash = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'latest', rehash: true });
  assert.is(rehash.bundle.stats.unchangedBytes, 0);
  assert.is(rehash.bundle.stats.dedupBytes, first.bundle.bytes);
});

fc.run();
