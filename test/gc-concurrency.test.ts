/**
 * An upload interleaved with gc runs on the local store: 20 seeded interleavings (test/gc-interleave.ts).
 */
import { suite } from 'uvu';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { openStorage } from '../engine/storage/open.js';
import { tempDir, who } from './helpers.js';
import { openLocal } from './gc-helpers.js';
import { interleaving, interleavingTrees, runInterleaving } from './gc-interleave.js';

const t = suite('gc: uploads interleaved with collections (local store)');

let template: { root: string; x: string; y: string; trees: ReturnType<typeof interleavingTrees> } | undefined;

/** The store with X and Y, built once and copied per case. */
async function baseStore() {
  if (template) return template;
  const root = path.join(tempDir('gcc-t'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const trees = interleavingTrees();
  const x = (await store.repo('r').upload({ source: trees.srcX, contributor: who })).bundle.id;
  const y = (await store.repo('r').upload({ source: trees.srcY, contributor: who })).bundle.id;
  template = { root, x, y, trees };
  return template;
}

for (let seed = 1; seed <= 20; seed++) {
  t(interleaving(seed).name, async () => {
    const base = await baseStore();
    const root = path.join(tempDir('gcc'), 'store');
    cpSync(base.root, root, { recursive: true });
    await runInterleaving(seed, { open: () => openLocal(root), storage: () => openStorage(root), x: base.x, y: base.y }, base.trees);
  });
}

t.run();
