/**
 * The front door (engine/store.ts, engine/repo.ts): the format read once per Store, roles routed to their own
 * stores, the blob index loaded once and dropped when packs are added, the local store's staging tidied.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { DatamoverError, Store, openStore } from '../engine/index.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import type { ByteRange } from '../engine/storage/storage.js';
import { cli, describeTree, tempDir, who, writeFile } from './helpers.js';

const t = suite('front door: openStore, Store, Repo');

/** A memory store that counts the reads of each key. */
class CountingStorage extends MemoryStorage {
  readonly reads = new Map<string, number>();
  override get(key: string, opts?: { range?: ByteRange }): Promise<Readable> {
    this.reads.set(key, (this.reads.get(key) ?? 0) + 1);
    return super.get(key, opts);
  }
}

function source(): string {
  const src = tempDir('store-src');
  writeFile(src, 'a.txt', 'alpha');
  writeFile(src, 'd/b.bin', Buffer.alloc(70_000, 7));
  return src;
}

t('a Store reads format.json once, whatever operations run through it', async () => {
  const counting = new CountingStorage();
  const store = new Store({ url: counting.url }, counting);
  await store.createRepo('r', { contributor: who });
  const afterCreate = counting.reads.get('format.json') ?? 0;
  const repo = store.repo('r');
  const src = source();
  const up = await repo.upload({ source: src, contributor: who, label: 'v1' });
  const again = await repo.upload({ source: src, contributor: who, message: 'again' });
  const dest = path.join(tempDir('store-dest'), 'out');
  await repo.download({ ref: 'v1', dest, contributor: who });
  await repo.verify({ ref: 'latest', contributor: who });
  await repo.update({ from: 'v1', to: again.bundle.id, dest, contributor: who });
  const { entries } = await repo.files(up.bundle.id.slice(0, 20), { contributor: who });
  for await (const _ of entries) { /* read them all: the listing is logged */ }
  for await (const _ of (await repo.diff('v1', 'latest')).changes) { /* nothing changed */ }
  await repo.setLabel('v2', 'latest', who);
  assert.equal(describeTree(dest), describeTree(src));
  assert.is(counting.reads.get('format.json'), afterCreate, 'no operation read format.json again');
});

t('roles given to openStore go to their own stores, and the repo round-trips through them', async () => {
  const root = tempDir('store-roles');
  const [meta, blobs, wal] = ['meta', 'blobs', 'wal'].map((d) => path.join(root, d)) as [string, string, string];
  const store = await openStore({ url: meta, stores: { blobs, wal } });
  await store.createRepo('r', { contributor: who });
  const src = source();
  await store.repo('r').upload({ source: src, contributor: who, label: 'v1' });
  const dest = path.join(tempDir('store-roles-dest'), 'out');
  await store.repo('r').download({ ref: 'v1', dest, contributor: who });
  assert.equal(describeTree(dest), describeTree(src));
  assert.ok(readdirSync(meta).includes('meta') && !readdirSync(meta).includes('blobs') && !readdirSync(meta).includes('wal'), readdirSync(meta).join());
  assert.ok(readdirSync(blobs).includes('blobs') && !readdirSync(blobs).includes('meta'), readdirSync(blobs).join());
  assert.ok(readdirSync(wal).includes('wal') && !readdirSync(wal).includes('meta'), readdirSync(wal).join());
  await store.close();
  for (const dir of [meta, blobs, wal]) assert.not.ok(existsSync(path.join(dir, '.tmp')), `${dir}: staging removed once idle`);
});

t('the blob index is loaded once and reloaded after an upload adds packs', async () => {
  const store = await openStore('memory://');
  await store.createRepo('r', { contributor: who });
  const first = await store.blobIndex();
  assert.is(await store.blobIndex(), first, 'the same index while nothing changes');
  await store.repo('r').upload({ source: source(), contributor: who });
  const second = await store.blobIndex();
  assert.is.not(second, first, 'reloaded after the upload');
  assert.ok(second.size > first.size, 'and holds the new blobs');
});

t('opening checks nothing, the first operation does: FORMAT for a directory that is not a store', async () => {
  const dir = tempDir('store-plain');
  const store = await openStore(dir);
  const err = await store.repo('r').describe().then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof DatamoverError && err.code === 'FORMAT', String(err));
  assert.equal(await store.listRepos(), [], 'an empty directory lists no repos');
});

t('copy leaves no staging directory in a local destination (the local backend tidies it)', () => {
  const src = tempDir('store-copy-src');
  writeFile(src, 'x/y.txt', 'y');
  const dst = path.join(tempDir('store-copy-dst'), 'out');
  const r = cli(['copy', src, dst]);
  assert.is(r.code, 0, r.stderr);
  assert.ok(existsSync(path.join(dst, 'x', 'y.txt')));
  assert.not.ok(existsSync(path.join(dst, '.tmp')), 'no .tmp left');
});

t.run();
