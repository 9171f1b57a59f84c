/**
 * gc on S3 (Ceph RGW) and GCS (emulator through its fidelity proxy): collection after forgetting, uploads
 * interleaved with collections (docs/gc.md), a removed secret gone from every object, a deleted repo's data gone.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { cloudEnv, freshGcsUrl, freshS3Url, s3Endpoint } from './cloud-stores.js';
import { who } from './helpers.js';
import { MiB, assertBundlesWhole, forgetBundle, sourceTree } from './gc-helpers.js';
import { interleaving, interleavingTrees, runInterleaving } from './gc-interleave.js';
import { repoDeleteThenGc, secretRemoval, storageAt } from './gc-scenarios.js';

const t = suite('cloud: gc on RGW and the GCS emulator');

const INTERLEAVINGS_S3 = 20;
const INTERLEAVINGS_GCS = 4;

/** The store at `url`, opened as another process would (GCS finds the emulator through STORAGE_EMULATOR_HOST). */
const opener = (url: string) => () => openStore({ url, ...(url.startsWith('s3://') ? { endpoint: s3Endpoint() } : {}) });
const storageOf = (url: string) => () => storageAt(url, cloudEnv());

async function packBytes(url: string): Promise<number> {
  let n = 0;
  for await (const e of storageOf(url)().list('blobs/packs/')) n += e.size ?? 0;
  return n;
}

t.before(() => { Object.assign(process.env, cloudEnv()); });

for (const kind of ['s3', 'gcs'] as const) {
  const fresh = (tag: string) => (kind === 's3' ? freshS3Url(tag) : Promise.resolve(freshGcsUrl(tag)));

  t(`${kind}: after forgetting two of three bundles, gc --grace 0 deletes and repacks; the kept bundle round-trips`, async () => {
    const url = await fresh('gc');
    const store = await openStore({ url, create: true, ...(kind === 's3' ? { endpoint: s3Endpoint() } : {}) });
    await store.createRepo('r', { contributor: who });
    const [srcA, srcB, srcC] = [sourceTree('cgc-a', 1, 4, 100), sourceTree('cgc-b', 2, 2, 100), sourceTree('cgc-c', 3, 5)];
    const ids = [];
    for (const src of [srcA, srcB, srcC]) ids.push((await store.repo('r').upload({ source: src!, contributor: who })).bundle.id);
    const before = await packBytes(url);
    await forgetBundle(storageOf(url)(), 'r', ids[0]!);
    await forgetBundle(storageOf(url)(), 'r', ids[2]!);
    const r = await (await opener(url)()).gc({ graceMs: 0 });
    assert.equal([r.condemned.unused, r.repacked.packs, r.swept.packs], [1, 1, 2]);
    assert.ok(before - await packBytes(url) >= 9 * MiB * 0.9, 'the forgotten bundles\' own bytes are gone');
    await assertBundlesWhole(await opener(url)(), 'r', new Map([[ids[1]!, srcB!]]));
  });

  const count = kind === 's3' ? INTERLEAVINGS_S3 : INTERLEAVINGS_GCS;
  let trees: ReturnType<typeof interleavingTrees> | undefined;
  for (let seed = 1; seed <= count; seed++) {
    t(`${kind}: ${interleaving(seed).name}`, async () => {
      trees ??= interleavingTrees();
      const url = await fresh(`gcc${seed}`);
      const store = await openStore({ url, create: true, ...(kind === 's3' ? { endpoint: s3Endpoint() } : {}) });
      await store.createRepo('r', { contributor: who });
      const x = (await store.repo('r').upload({ source: trees.srcX, contributor: who })).bundle.id;
      const y = (await store.repo('r').upload({ source: trees.srcY, contributor: who })).bundle.id;
      await runInterleaving(seed, { open: opener(url), storage: storageOf(url), x, y }, trees);
    });
  }

  t(`${kind}: bundle rewrite --exclude, then gc: no object holds the secret`, async () => {
    await secretRemoval(await fresh('secret'), cloudEnv());
  });

  t(`${kind}: repo delete, then gc: no object of that repo's data`, async () => {
    await repoDeleteThenGc(await fresh('repodel'), cloudEnv());
  });
}

t.run();
