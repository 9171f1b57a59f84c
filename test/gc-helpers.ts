/** Shared by the gc tests: a store with bundles to forget, forgetting, and checks that every kept bundle is whole. */
import * as assert from 'uvu/assert';
import path from 'node:path';
import { Store, openStore } from '../engine/index.js';
import { forgetBundles } from '../engine/lifecycle/forget.js';
import type { Storage } from '../engine/storage/storage.js';
import { readFileSync } from 'node:fs';
import { describeTree, listFiles, seededBytes, tempDir, who, writeFile } from './helpers.js';

export { rng } from './helpers.js';

export const MiB = 1024 * 1024;

/** `bundle forget <id>` through the engine (metadata only: the packs stay for gc). */
export async function forgetBundle(storage: Storage, repo: string, id: string): Promise<void> {
  await forgetBundles({ storage, repo, contributor: who, refs: [id] });
}

/** A source tree: `unique` MiB of seeded random bytes plus the shared file when `shared` is set. */
export function sourceTree(tag: string, seed: number, uniqueMiB: number, shared?: number): string {
  const dir = tempDir(tag);
  writeFile(dir, `unique-${seed}.bin`, seededBytes(seed, uniqueMiB * MiB));
  writeFile(dir, 'small/a.txt', `small file of ${seed}\n`);
  if (shared !== undefined) writeFile(dir, 'shared.bin', seededBytes(shared, 3 * MiB));
  return dir;
}

/** Every bundle of `repo` downloads and equals its source tree, byte for byte. */
export async function assertBundlesWhole(store: Store, repo: string, sources: Map<string, string>): Promise<void> {
  for (const [id, src] of sources) {
    const dest = tempDir('gc-dl');
    await store.repo(repo).download({ ref: id, dest: path.join(dest, 'out'), contributor: who });
    assert.equal(describeTree(path.join(dest, 'out')), describeTree(src), `bundle ${id} round trip`);
  }
  const r = await store.fsck({ readData: true });
  assert.equal(r.problems, [], 'fsck --read-data clean');
}

/** Total bytes of every object under `blobs/packs/` of a local store root. */
export function packBytes(root: string): number {
  let n = 0;
  for (const key of listFiles(root)) if (key.startsWith('blobs/packs/')) n += readFileSync(path.join(root, key)).length;
  return n;
}

/** sha256 of every object of a local store, by key: a store unchanged byte for byte has equal maps. */
export { storeDigest } from './helpers.js';

export async function openLocal(root: string, create = false): Promise<Store> {
  return openStore({ url: root, ...(create ? { create: true } : {}) });
}
