/**
 * Storage decorators (retry, lazy loading, role routing) forward every optional method of the stores they wrap,
 * and only those: the list comes from engine/storage/optional.ts, so a new optional method cannot be forgotten.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openRoutedStorage } from '../engine/storage/routing.js';
import { downloadBundle } from '../engine/download/download.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { gcsOptional, s3Optional } from '../engine/storage/capabilities.js';
import { GcsStorage } from '../engine/storage/gcs.js';
import { LazyStorage } from '../engine/storage/lazy.js';
import { LocalStorage } from '../engine/storage/local.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { OPTIONAL_METHODS, type OptionalMethod, hasMethod } from '../engine/storage/optional.js';
import { RetryingStorage } from '../engine/storage/retry.js';
import { RoutingStorage } from '../engine/storage/routing.js';
import { S3Storage } from '../engine/storage/s3.js';
import type { Storage } from '../engine/storage/storage.js';
import { seededBytes, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('storage decorators forward every optional capability');

/** One call of each optional method on a blob key (typed: a new optional method needs a line here). */
const sampleCalls: Record<OptionalMethod, (s: Storage) => Promise<unknown>> = {
  readInto: (s) => s.readInto!('blobs/k', { offset: 0, length: 1 }, new Uint8Array(1)),
  abortStaleUploads: (s) => s.abortStaleUploads!('blobs/', 1000),
  pendingUploads: (s) => s.pendingUploads!('blobs/'),
};

/** A memory store that has exactly the optional methods `present`, each counting its calls. */
function scripted(present: readonly OptionalMethod[]): Storage & { calls: Record<OptionalMethod, number> } {
  const calls = Object.fromEntries(OPTIONAL_METHODS.map((m) => [m, 0])) as Record<OptionalMethod, number>;
  const methods: Record<OptionalMethod, (...args: never[]) => Promise<unknown>> = {
    readInto: async () => { calls.readInto++; return 0; },
    abortStaleUploads: async () => { calls.abortStaleUploads++; return []; },
    pendingUploads: async () => { calls.pendingUploads++; return []; },
  };
  const store = Object.assign(Object.create(new MemoryStorage()) as Storage, { calls });
  for (const m of present) Object.assign(store, { [m]: methods[m] });
  return store;
}

const decorators: { name: string; wrap: (inner: Storage) => Storage }[] = [
  { name: 'retry', wrap: (inner) => new RetryingStorage(inner) },
  {
    name: 'lazy',
    wrap: (inner) => new LazyStorage(inner.url, inner.capabilities, OPTIONAL_METHODS.filter((m) => hasMethod(inner, m)), async () => inner),
  },
  { name: 'routing, one store for every role', wrap: (inner) => new RoutingStorage({ meta: inner, blobs: inner, wal: inner, readlog: inner }) },
  {
    name: 'routing, the store for blobs only',
    wrap: (inner) => { const other = new MemoryStorage(); return new RoutingStorage({ meta: other, blobs: inner, wal: other, readlog: other }); },
  },
  { name: 'retry over lazy', wrap: (inner) => new RetryingStorage(decorators[1]!.wrap(inner)) },
];

/** Every subset of the optional methods. */
const subsets: OptionalMethod[][] = OPTIONAL_METHODS.reduce<OptionalMethod[][]>((all, m) => [...all, ...all.map((s) => [...s, m])], [[]]);

for (const { name, wrap } of decorators) {
  t(`${name}: has exactly the optional methods of the wrapped store, and calls reach it`, async () => {
    for (const present of subsets) {
      const inner = scripted(present);
      const outer = wrap(inner);
      for (const m of OPTIONAL_METHODS) {
        assert.is(hasMethod(outer, m), present.includes(m), `${m} with [${present.join(', ')}]`);
        if (!present.includes(m)) continue;
        await sampleCalls[m](outer);
        assert.is(inner.calls[m], 1, `${m} reached the wrapped store`);
      }
    }
  });
}

t('the optional methods declared for the lazily loaded cloud backends are the ones they have', () => {
  const s3 = new S3Storage('s3://bucket/prefix', { endpoint: 'http://127.0.0.1:1' });
  const gcs = new GcsStorage('gs://bucket/prefix', { emulatorHost: 'http://127.0.0.1:1' });
  assert.equal(OPTIONAL_METHODS.filter((m) => hasMethod(s3, m)), [...s3Optional]);
  assert.equal(OPTIONAL_METHODS.filter((m) => hasMethod(gcs, m)), [...gcsOptional]);
});

t('a context with a local blob store keeps the zero-copy read: a download reads packs with readInto', async () => {
  const root = tempDir('ctx-readinto');
  const storage = await withRepo(openRoutedStorage({ url: path.join(root, 'meta'), stores: { blobs: path.join(root, 'blobs') } }));
  assert.instance(storage, RoutingStorage);
  assert.ok(hasMethod(storage, 'readInto'), 'the routing store exposes readInto');
  const src = tempDir('ctx-readinto-src');
  writeFile(src, 'a.bin', seededBytes(1, 300_000));
  writeFile(src, 'b.txt', 'small');
  const { bundle } = await uploadBundle({ storage, repo: 'r', source: src, contributor: who });
  const original = LocalStorage.prototype.readInto;
  let reads = 0;
  LocalStorage.prototype.readInto = function (this: LocalStorage, ...args) { reads++; return original.apply(this, args); };
  const dest = path.join(tempDir('ctx-readinto-dest'), 'out');
  try {
    await downloadBundle({ storage, repo: 'r', ref: { bundle: bundle.id }, dest, contributor: who });
  } finally {
    LocalStorage.prototype.readInto = original;
  }
  assert.ok(reads > 0, 'packs were read with readInto');
  assert.equal(readFileSync(path.join(dest, 'a.bin')), seededBytes(1, 300_000));
  assert.is(readFileSync(path.join(dest, 'b.txt'), 'utf8'), 'small');
});

t.run();
