/**
 * The FUSE operations without a kernel (engine/read/fuse-ops.ts), called as fuse-native calls them: what a
 * listing answers, and that the lookup the kernel makes of every name a listing gave (`find`, `ls -l`) is
 * answered from that listing, without another manifest seek, with the same attributes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Store } from '../engine/index.js';
import type { BundleReader } from '../engine/read/bundle-reader.js';
import { type FuseOps, fuseOps } from '../engine/read/fuse-ops.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { tempDir, who, writeFile } from './helpers.js';

const t = suite('fuse operations: listings, attributes');

async function readerOf(files: Record<string, string>): Promise<BundleReader> {
  const storage = new MemoryStorage();
  const store = new Store({ url: storage.url }, storage);
  await store.createRepo('r', { contributor: who });
  const src = tempDir('fuse-ops');
  for (const [rel, data] of Object.entries(files)) writeFile(src, rel, data, 0o640, 1_700_000_000);
  const up = await store.repo('r').upload({ source: src, contributor: who });
  return store.repo('r').openReader(up.bundle.id);
}

/** Calls operation `op` of `ops` and resolves with what it answers ([errno, ...values]). */
function call(ops: FuseOps, op: string, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve) => (ops[op] as (...a: unknown[]) => void)(...args, (...answer: unknown[]) => resolve(answer)));
}

t('a name a listing gave is looked up from the listing (no manifest seek), with the attributes the listing had', async () => {
  const reader = await readerOf({ 'd/a.txt': 'alpha', 'd/b.txt': 'bravo!', 'top.txt': 'x' });
  let seeks = 0;
  const stat = reader.stat.bind(reader);
  reader.stat = (p: string) => { seeks++; return stat(p); };
  const ops = fuseOps(reader, { uid: 1, gid: 2 });
  const [code, names, stats] = await call(ops, 'readdir', '/d') as [number, string[], { size: number; mode: number }[]];
  assert.is(code, 0);
  assert.equal(names, ['.', '..', 'a.txt', 'b.txt']);
  seeks = 0;
  for (const [i, name] of ['a.txt', 'b.txt'].entries()) {
    const [c, st] = await call(ops, 'getattr', `/d/${name}`) as [number, { size: number; mode: number; mtime: unknown }];
    assert.is(c, 0);
    assert.equal(st, stats[i + 2], `${name}: the listing's attributes`);
    assert.is(st.size, name === 'a.txt' ? 5 : 6);
    assert.is(st.mode, 0o100640);
  }
  assert.is(seeks, 0, 'no lookup went to the manifest');
  const [c, st] = await call(ops, 'getattr', '/top.txt') as [number, { size: number }];
  assert.is(c, 0);
  assert.is(st.size, 1);
  assert.is(seeks, 1, 'a name no listing gave is looked up in the manifest');
  assert.equal(await call(ops, 'getattr', '/d/missing'), [-2]);
  await reader.close();
});

t.run();
