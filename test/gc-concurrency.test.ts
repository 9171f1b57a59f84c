/**
 * An upload interleaved with gc runs (docs/gc.md): the upload deduplicates against a pack of a forgotten
 * bundle, and a gc (grace 0) runs at a seeded point of the upload — after its lease, before its first pack,
 * after its first index checkpoint, before its pages, before its lease check, before its descriptor, before its
 * lease is released. Every committed bundle must be fsck-clean and round-trip byte for byte.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync } from 'node:fs';
import path from 'node:path';
import { uploadBundle } from '../engine/upload/upload.js';
import { openStorage } from '../engine/storage/open.js';
import type { Body, ListOptions, ListEntry, MultipartOptions, MultipartUpload, PutOptions, RequestOptions, Storage } from '../engine/storage/storage.js';
import { seededBytes, tempDir, who, writeFile } from './helpers.js';
import { MiB, assertBundlesWhole, forgetDirect, openLocal } from './gc-helpers.js';

export type Point = 'lease' | 'first-pack' | 'first-index' | 'first-page' | 'lease-check' | 'descriptor' | 'release';
const POINTS: Point[] = ['lease', 'first-pack', 'first-index', 'first-page', 'lease-check', 'descriptor', 'release'];

/** Forwards to `inner`; the first time the upload reaches `point`, awaits `atPoint` before going on. */
export function pausing(inner: Storage, point: Point, atPoint: () => Promise<void>): Storage {
  let fired = false;
  const at = async (p: Point) => {
    if (p !== point || fired) return;
    fired = true;
    await atPoint();
  };
  const before = async (key: string, op: string) => {
    if (op === 'delete' && key.startsWith('blobs/gc/leases/')) await at('release');
    if (op === 'stat' && key.startsWith('blobs/gc/leases/')) await at('lease-check');
    if (op === 'put' && key.startsWith('blobs/packs/')) await at('first-pack');
    if (op === 'put' && key.includes('/manifest-')) await at('first-page');
    if (op === 'put' && key.endsWith('/bundle.json')) await at('descriptor');
  };
  const after = async (key: string, op: string) => {
    if (op === 'put' && key.startsWith('blobs/gc/leases/')) await at('lease');
    if (op === 'put' && key.startsWith('blobs/index/')) await at('first-index');
  };
  return {
    url: inner.url,
    capabilities: inner.capabilities,
    stat: async (key: string, o?: RequestOptions) => { await before(key, 'stat'); return inner.stat(key, o); },
    list: (prefix: string, o?: ListOptions): AsyncIterable<ListEntry> => inner.list(prefix, o),
    get: (key, o) => inner.get(key, o),
    put: async (key: string, body: Body, o?: PutOptions) => {
      await before(key, 'put');
      const r = await inner.put(key, body, o);
      await after(key, 'put');
      return r;
    },
    openMultipart: async (key: string, o?: MultipartOptions): Promise<MultipartUpload> => {
      await before(key, 'put');
      return inner.openMultipart(key, o);
    },
    delete: async (keys: readonly string[], o?: RequestOptions) => {
      for (const k of keys) await before(k, 'delete');
      return inner.delete(keys, o);
    },
  };
}

/** xorshift: the interleaving of seed n is the same on every run. */
export function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 2 ** 32; };
}

const t = suite('gc: uploads interleaved with collections (local store)');

let template: { root: string; x: string; y: string; srcX: string; srcY: string; srcU: string } | undefined;

/** A store with bundles X (2 MiB unique, the dedup target) and Y (kept), built once and copied per case. */
async function baseStore() {
  if (template) return template;
  const root = path.join(tempDir('gcc-t'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const srcX = tempDir('gcc-x');
  writeFile(srcX, 'x.bin', seededBytes(7, 2 * MiB));
  writeFile(srcX, 'x/small.txt', 'x small\n');
  const srcY = tempDir('gcc-y');
  writeFile(srcY, 'y.bin', seededBytes(8, MiB));
  const srcU = tempDir('gcc-u');
  writeFile(srcU, 'x.bin', seededBytes(7, 2 * MiB)); // deduplicates against X's pack
  writeFile(srcU, 'new.bin', seededBytes(9, MiB + 17));
  const x = (await store.repo('r').upload({ source: srcX, contributor: who })).bundle.id;
  const y = (await store.repo('r').upload({ source: srcY, contributor: who })).bundle.id;
  template = { root, x, y, srcX, srcY, srcU };
  return template;
}

for (let seed = 1; seed <= 20; seed++) {
  const random = rng(seed);
  const point = POINTS[Math.floor(random() * POINTS.length)]!;
  const forgetEarly = random() < 0.5;
  const condemnFirst = random() < 0.4;
  const runs = 1 + Math.floor(random() * 2);
  t(`seed ${seed}: gc ×${runs} at ${point}${forgetEarly ? ', X forgotten before the upload' : ', X forgotten at that point'}${condemnFirst ? ', X\'s pack condemned before the upload' : ''}`, async () => {
    const base = await baseStore();
    const root = path.join(tempDir('gcc'), 'store');
    cpSync(base.root, root, { recursive: true });
    const storage = openStorage(root);
    const store = await openLocal(root);
    if (forgetEarly || condemnFirst) await forgetDirect(storage, 'r', base.x);
    if (condemnFirst) await store.gc({ graceMs: 3_600_000 });
    const gcAtPoint = async () => {
      if (!forgetEarly && !condemnFirst) await forgetDirect(storage, 'r', base.x);
      for (let i = 0; i < runs; i++) await (await openLocal(root)).gc({ graceMs: 0 });
    };
    const up = await uploadBundle({ storage: pausing(openStorage(root), point, gcAtPoint), repo: 'r', source: base.srcU, contributor: who });
    await (await openLocal(root)).gc({ graceMs: 0 }); // and one after: nothing the bundle needs may go
    await assertBundlesWhole(await openLocal(root), 'r', new Map([[up.bundle.id, base.srcU], [base.y, base.srcY]]));
  });
}

t.run();
