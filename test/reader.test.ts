/**
 * The bundle reader (engine/read/): every file of the round-trip tree read back by random ranges equals its
 * source, listings match the tree, a damaged chunk fails exactly the files using it (INTEGRITY, a warning),
 * and the storage it touches is what a read needs: one chunk for a small random read, the pages a listing needs.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EngineEvent, Store, isDatamoverError, openStore } from '../engine/index.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import type { ByteRange } from '../engine/storage/storage.js';
import { comparePaths, keys } from '../engine/vocab.js';
import { makeMixedTree, seededBytes, tempDir, who, writeFile } from './helpers.js';

const t = suite('bundle reader: ranges, listings, integrity, counting');

/** A memory store that counts ranged reads of packs and reads of manifest pages. */
class CountingStorage extends MemoryStorage {
  packReads = 0;
  pageReads = 0;
  override get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    if (key.startsWith('blobs/packs/')) this.packReads++;
    if (key.includes('/manifest-')) this.pageReads++;
    return super.get(key, opts);
  }
}

/** A store over a fresh CountingStorage, with repo `r`. */
async function countingStore(): Promise<{ storage: CountingStorage; store: Store }> {
  const storage = new CountingStorage();
  const store = new Store({ url: storage.url }, storage);
  await store.createRepo('r', { contributor: who });
  return { storage, store };
}

let seed = 7;
const random = (n: number) => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed % Math.max(1, n);
};

async function readWhole(reader: { read(p: string, o: number, l: number): Promise<Buffer> }, file: string, piece: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let at = 0; ; at += piece) {
    const part = await reader.read(file, at, piece);
    if (!part.length) break;
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/** Every path under `root` with its type, as `lstat` sees it. */
function walk(root: string, rel = ''): { path: string; type: string }[] {
  const out: { path: string; type: string }[] = [];
  for (const name of readdirSync(path.join(root, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(root, r));
    const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : 'file';
    out.push({ path: r, type });
    if (type === 'dir') out.push(...walk(root, r));
  }
  return out;
}

t('round trip: every file of the mixed tree by random ranges and sequentially; symlinks, modes, mtimes; listings in manifest order', async () => {
  const src = tempDir('reader-src');
  makeMixedTree(src, 300);
  const store = await openStore({ url: tempDir('reader-store'), create: true });
  await store.createRepo('r', { contributor: who });
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const reader = await store.repo('r').openReader(up.bundle.id);
  const tree = walk(src);
  for (const { path: p, type } of tree) {
    const abs = path.join(src, p);
    const st = lstatSync(abs);
    const entry = await reader.stat(p);
    assert.ok(entry, p);
    assert.is(entry.type, type, p);
    if (type === 'symlink') {
      assert.is(entry.target, readlinkSync(abs), p);
      continue;
    }
    assert.is(entry.mode, st.mode & 0o7777, p);
    assert.is(Math.floor(entry.mtimeMs), Math.floor(st.mtimeMs), p);
    if (type === 'dir') {
      const names: string[] = [];
      for await (const child of reader.list(p)) names.push(child.path);
      for (let i = 1; i < names.length; i++) assert.ok(comparePaths(names[i - 1]!, names[i]!) < 0, `${p}: listed in order`);
      assert.equal([...names].sort(), readdirSync(abs).map((n) => `${p}/${n}`).sort(), `${p}: children`);
      continue;
    }
    const data = readFileSync(abs);
    assert.is(entry.size, data.length, p);
    for (let i = 0; i < 3; i++) {
      const offset = random(data.length + 10);
      const length = 1 + random(200_000);
      assert.ok((await reader.read(p, offset, length)).equals(data.subarray(offset, offset + length)), `${p} @${offset}+${length}`);
    }
    assert.ok((await readWhole(reader, p, 131_072)).equals(data), `${p} read whole`);
  }
  const top: string[] = [];
  for await (const child of reader.list('')) top.push(child.path);
  assert.equal(top.sort(), readdirSync(src).sort());
  assert.is((await reader.stat(''))?.type, 'dir');
  assert.is(await reader.stat('no/such/file'), undefined);
  const missing = await reader.read('no/such/file', 0, 10).catch((err: unknown) => err);
  assert.ok(isDatamoverError(missing, 'NOT_FOUND'), String(missing));
  const notDir = await (async () => { for await (const _ of reader.list('empty.txt')); })().catch((err: unknown) => err);
  assert.ok(isDatamoverError(notDir, 'NOT_FOUND'), String(notDir));
  await reader.close();
});

t('a flipped byte in a pack: INTEGRITY naming the file and chunk on exactly the files using that chunk, a warning each; the others read', async () => {
  const src = tempDir('reader-flip');
  writeFile(src, 'a/victim.bin', seededBytes(1, 50_000));
  writeFile(src, 'b/same-content.bin', seededBytes(1, 50_000));
  writeFile(src, 'c/other.bin', seededBytes(2, 50_000));
  writeFile(src, 'c/tail.bin', Buffer.concat([seededBytes(3, 4 * 1024 * 1024), seededBytes(1, 50_000)]));
  const root = tempDir('reader-flip-store');
  const store = await openStore({ url: root, create: true });
  await store.createRepo('r', { contributor: who });
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const hash = createHash('sha256').update(seededBytes(1, 50_000)).digest('hex');
  const at = (await store.blobIndex()).get(hash)!;
  const packFile = path.join(root, keys.pack(at.pack));
  const bytes = readFileSync(packFile);
  bytes[at.offset + 1234] ^= 0x40;
  writeFileSync(packFile, bytes);

  const events: EngineEvent[] = [];
  const reader = await store.repo('r').openReader(up.bundle.id, { reporter: (e) => events.push(e) });
  for (const victim of ['a/victim.bin', 'b/same-content.bin']) {
    const err = await reader.read(victim, 0, 100).catch((e: unknown) => e);
    assert.ok(isDatamoverError(err, 'INTEGRITY'), `${victim}: ${String(err)}`);
    assert.match((err as Error).message, victim);
    assert.match((err as Error).message, hash);
  }
  // The shared chunk is the second of c/tail.bin: its first chunk reads, a range into the second fails.
  assert.ok((await reader.read('c/tail.bin', 0, 1000)).equals(seededBytes(3, 1000)));
  const tail = await reader.read('c/tail.bin', 4 * 1024 * 1024 + 10, 10).catch((e: unknown) => e);
  assert.ok(isDatamoverError(tail, 'INTEGRITY'), String(tail));
  assert.ok((await reader.read('c/other.bin', 0, 50_000)).equals(seededBytes(2, 50_000)));
  const warned = events.filter((e) => e.type === 'read.damaged').map((e) => (e as { path: string }).path);
  assert.equal(warned, ['a/victim.bin', 'b/same-content.bin', 'c/tail.bin']);
  await reader.close();
});

t('counting: 4 KiB at a random offset of a multi-chunk file fetches one chunk; a sequential reader is read ahead in coalesced gets', async () => {
  const { storage, store } = await countingStore();
  const src = tempDir('reader-big');
  const big = seededBytes(11, 48 * 1024 * 1024 + 777);
  writeFile(src, 'big.bin', big);
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const reader = await store.repo('r').openReader(up.bundle.id, { cacheBytes: 64 * 1024 * 1024 });
  storage.packReads = 0;
  const offset = 20 * 1024 * 1024 + 12345;
  assert.ok((await reader.read('big.bin', offset, 4096)).equals(big.subarray(offset, offset + 4096)));
  assert.is(reader.counters.chunkFetches, 1);
  assert.is(storage.packReads, 1);
  assert.ok((await reader.read('big.bin', offset + 4096, 4096)).equals(big.subarray(offset + 4096, offset + 8192)));
  assert.is(reader.counters.chunkFetches, 1, 'the next 4 KiB comes from the cache');

  const whole = await readWhole(reader, 'big.bin', 128 * 1024);
  assert.ok(whole.equals(big));
  assert.is(reader.counters.chunkFetches, 13, 'each chunk fetched once');
  assert.ok(storage.packReads < 13, `read ahead coalesces: ${storage.packReads} gets for 12 chunks`);
  assert.is(reader.counters.filesOpened, 1);
  assert.is(reader.counters.bytesRead, big.length + 8192);
  await reader.close();
});

t('listing reads only the pages it needs: a small directory after a big one, the root, a stat', async () => {
  const { storage, store } = await countingStore();
  const src = tempDir('reader-pages');
  for (let i = 0; i < 1000; i++) writeFile(src, `a-big/f${String(i).padStart(4, '0')}`, `${i}`);
  for (let i = 0; i < 5; i++) writeFile(src, `b-small/g${i}`, `${i}`);
  writeFile(src, 'c-last', 'last');
  const up = await store.repo('r').upload({ source: src, contributor: who, tuning: { pageSize: 100 } });
  assert.is(up.bundle.pages.length, 11);

  const reader = await store.repo('r').openReader(up.bundle.id);
  const names = async (dir: string) => {
    const out: string[] = [];
    for await (const e of reader.list(dir)) out.push(e.path);
    return out;
  };
  storage.pageReads = 0;
  assert.equal(await names(''), ['a-big', 'b-small', 'c-last']);
  assert.ok(storage.pageReads <= 2, `the root read ${storage.pageReads} pages (first and last)`);
  assert.equal(await names('b-small'), ['b-small/g0', 'b-small/g1', 'b-small/g2', 'b-small/g3', 'b-small/g4']);
  assert.ok(storage.pageReads <= 2, `b-small is on the last page: ${storage.pageReads}`);
  assert.is((await reader.stat('a-big/f0500'))?.type, 'file');
  assert.ok(storage.pageReads <= 3, `a stat reads one page: ${storage.pageReads}`);
  assert.is((await names('a-big')).length, 1000);
  assert.is(reader.counters.pageReads, storage.pageReads);
  await reader.close();
});

t('close records the read in the read log: who, kind, client, files and bytes', async () => {
  const store = await openStore({ url: tempDir('reader-log'), create: true });
  await store.createRepo('r', { contributor: who });
  const src = tempDir('reader-log-src');
  writeFile(src, 'x', 'hello');
  writeFile(src, 'y', 'world!');
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const reader = await store.repo('r').openReader(up.bundle.id, { log: { contributor: who, type: 'bundle.serve', client: '127.0.0.1' } });
  assert.is((await reader.read('x', 0, 100)).toString(), 'hello');
  assert.is((await reader.read('y', 2, 100)).toString(), 'rld!');
  await reader.close();
  const records = [];
  for await (const r of store.repo('r').readLog()) records.push(r);
  const last = records[records.length - 1]!;
  assert.is(last.type, 'bundle.serve');
  assert.is(last.client, '127.0.0.1');
  assert.is(last.files, 2);
  assert.is(last.bytes, 9);
  assert.is(last.bundle, up.bundle.id);
  assert.equal(last.contributor, who);
});

t('--cache-dir: a second reader serves chunks from the directory without the store; a damaged cached chunk is checked, dropped and fetched again', async () => {
  const root = tempDir('reader-disk-store');
  const store = await openStore({ url: root, create: true });
  await store.createRepo('r', { contributor: who });
  const src = tempDir('reader-disk-src');
  const data = seededBytes(21, 6 * 1024 * 1024);
  writeFile(src, 'f.bin', data);
  const up = await store.repo('r').upload({ source: src, contributor: who });
  const cacheDir = path.join(tempDir('reader-disk'), 'cache');
  const first = await store.repo('r').openReader(up.bundle.id, { cacheDir });
  assert.ok((await readWhole(first, 'f.bin', 1024 * 1024)).equals(data));
  await first.close();
  await new Promise((r) => setTimeout(r, 200)); // the cache's writes are not awaited by reads
  const cached = readdirSync(cacheDir).filter((n) => /^[0-9a-f]{64}$/.test(n));
  assert.is(cached.length, 2, 'both chunks kept on disk');

  const second = await store.repo('r').openReader(up.bundle.id, { cacheDir });
  assert.ok((await readWhole(second, 'f.bin', 1024 * 1024)).equals(data));
  assert.is(second.counters.chunkFetches, 0, 'served from the cache directory');
  await second.close();

  const victim = path.join(cacheDir, cached[0]!);
  const bytes = readFileSync(victim);
  bytes[10] ^= 1;
  writeFileSync(victim, bytes);
  const third = await store.repo('r').openReader(up.bundle.id, { cacheDir });
  assert.ok((await readWhole(third, 'f.bin', 1024 * 1024)).equals(data), 'never the damaged cached bytes');
  assert.is(third.counters.chunkFetches, 1, 'the damaged chunk fetched again from the store');
  await third.close();
});

t.run();
