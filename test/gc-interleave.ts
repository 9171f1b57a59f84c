/**
 * Interleavings of an upload with gc runs (docs/gc.md): the upload deduplicates against a pack of a forgotten
 * bundle, and a gc (grace 0) runs at a seeded point of the upload — after its lease, before its first pack,
 * after its first index checkpoint, before its pages, before its lease check, before its descriptor, before its
 * lease is released. Every committed bundle must be fsck-clean and round-trip byte for byte.
 */
import { uploadBundle } from '../engine/upload/upload.js';
import type { Body, ListOptions, ListEntry, MultipartOptions, MultipartUpload, PutOptions, RequestOptions, Storage } from '../engine/storage/storage.js';
import type { Store } from '../engine/index.js';
import { seededBytes, tempDir, who, writeFile } from './helpers.js';
import { MiB, assertBundlesWhole, forgetBundle, rng } from './gc-helpers.js';

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
    identity: (key) => inner.identity(key),
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

/** One interleaving's choices, drawn from its seed. */
export function interleaving(seed: number) {
  const random = rng(seed);
  const point = POINTS[Math.floor(random() * POINTS.length)]!;
  const forgetEarly = random() < 0.5;
  const condemnFirst = random() < 0.4;
  const runs = 1 + Math.floor(random() * 2);
  const name = `seed ${seed}: gc ×${runs} at ${point}${forgetEarly ? ', X forgotten before the upload' : ', X forgotten at that point'}${condemnFirst ? ', X\'s pack condemned before the upload' : ''}`;
  return { point, forgetEarly, condemnFirst, runs, name };
}

/** The trees: X (2 MiB unique, the dedup target), Y (kept) and U (X's bytes plus new ones: the upload). */
export function interleavingTrees() {
  const srcX = tempDir('gcc-x');
  writeFile(srcX, 'x.bin', seededBytes(7, 2 * MiB));
  writeFile(srcX, 'x/small.txt', 'x small\n');
  const srcY = tempDir('gcc-y');
  writeFile(srcY, 'y.bin', seededBytes(8, MiB));
  const srcU = tempDir('gcc-u');
  writeFile(srcU, 'x.bin', seededBytes(7, 2 * MiB)); // deduplicates against X's pack
  writeFile(srcU, 'new.bin', seededBytes(9, MiB + 17));
  return { srcX, srcY, srcU };
}

/** A store holding repo r with bundles x and y, and how to open it (a fresh Store each time, as another process would). */
export interface InterleavingStore { open: () => Promise<Store>; storage: () => Storage; x: string; y: string }

/**
 * Runs interleaving `seed` on `s`: forgets X, runs gc at the seeded point of an upload of U that deduplicates
 * against X's pack, then once more after; every bundle must then be fsck-clean and round-trip.
 */
export async function runInterleaving(seed: number, s: InterleavingStore, trees: ReturnType<typeof interleavingTrees>): Promise<void> {
  const { point, forgetEarly, condemnFirst, runs } = interleaving(seed);
  const storage = s.storage();
  if (forgetEarly || condemnFirst) await forgetBundle(storage, 'r', s.x);
  if (condemnFirst) await (await s.open()).gc({ graceMs: 3_600_000 });
  const gcAtPoint = async () => {
    if (!forgetEarly && !condemnFirst) await forgetBundle(storage, 'r', s.x);
    for (let i = 0; i < runs; i++) await (await s.open()).gc({ graceMs: 0 });
  };
  const up = await uploadBundle({ storage: pausing(s.storage(), point, gcAtPoint), repo: 'r', source: trees.srcU, contributor: who });
  await (await s.open()).gc({ graceMs: 0 }); // and one after: nothing the bundle needs may go
  await assertBundlesWhole(await s.open(), 'r', new Map([[up.bundle.id, trees.srcU], [s.y, trees.srcY]]));
}
