/**
 * Storage decorators (retry, lazy loading, role routing) forward every optional method of the stores they wrap,
 * and only those: the list comes from engine/storage/optional.ts, so a new optional method cannot be forgotten.
 * Every decorator (those too, and the dry run's and the abortable one) forwards identity().
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
import { RetryingStorage, defaultRetryPolicy } from '../engine/storage/retry.js';
import { RoutingStorage } from '../engine/storage/routing.js';
import { S3Storage } from '../engine/storage/s3.js';
import { type Storage, StorageError } from '../engine/storage/storage.js';
import { abortable } from '../engine/storage/abortable.js';
import { cachedIdentity } from '../engine/storage/identity.js';
import { readOnly } from '../engine/storage/read-only.js';
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

/** A memory store whose identity is `id`, counting the keys it was asked about. */
function withIdentity(id: string): Storage & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return Object.assign(Object.create(new MemoryStorage()) as Storage, {
    asked, identity: async (key?: string) => { asked.push(key); return { id, via: 'access-key' as const }; },
  });
}

/** Every decorator, those that forward optional methods and those that do not (dry run, abortable). */
const allDecorators: { name: string; wrap: (inner: Storage) => Storage }[] = [
  ...decorators,
  { name: 'read-only (dry run)', wrap: (inner) => readOnly(inner) },
  { name: 'abortable', wrap: (inner) => abortable(inner, new AbortController().signal) },
  { name: 'abortable over retry over lazy', wrap: (inner) => abortable(decorators[4]!.wrap(inner), new AbortController().signal) },
];

for (const { name, wrap } of allDecorators) {
  t(`${name}: identity() answers the wrapped store's, for the key asked about`, async () => {
    const inner = withIdentity('inner-key');
    const outer = wrap(inner);
    const key = name.includes('blobs only') ? 'blobs/packs/p' : 'wal/r/01ARZ3NDEKTSV4RRFFQ69G5FAV.json';
    assert.equal(await outer.identity(key), { id: 'inner-key', via: 'access-key' });
    assert.equal(inner.asked, [key]);
  });
}

t('routing: each role answers with the identity of the store that holds it (its credentials write it)', async () => {
  const [meta, blobs, wal, readlog] = ['meta', 'blobs', 'wal', 'readlog'].map(withIdentity) as [ReturnType<typeof withIdentity>, ...ReturnType<typeof withIdentity>[]];
  const routed = new RoutingStorage({ meta, blobs: blobs!, wal: wal!, readlog: readlog! });
  assert.is((await routed.identity('wal/r/x.json')).id, 'wal');
  assert.is((await routed.identity('readlog/r/2026-01-01/x.json')).id, 'readlog');
  assert.is((await routed.identity('meta/repos/r/bundles/x.json')).id, 'meta');
  assert.is((await routed.identity()).id, 'meta', 'without a key: the meta store');
});

t('retry: a transient failure to resolve the identity is retried; an aborted run refuses to ask', async () => {
  let calls = 0;
  const flaky = Object.assign(Object.create(new MemoryStorage()) as Storage, {
    identity: async () => {
      if (++calls < 3) throw new StorageError('retryable', 'sts unreachable');
      return { id: 'k', via: 'access-key' as const };
    },
  });
  const retried = new RetryingStorage(flaky, { ...defaultRetryPolicy, baseDelayMs: 1, maxDelayMs: 2 });
  assert.is((await retried.identity()).id, 'k');
  assert.is(calls, 3);
  const stop = new AbortController();
  stop.abort();
  const refused = await abortable(retried, stop.signal).identity().then(() => undefined, (err: unknown) => err);
  assert.is((refused as { code?: string } | undefined)?.code, 'INTERRUPTED');
  assert.is(calls, 3, 'not asked after the abort');
});

t('every backend resolves its identity once per opened store (cached), and a failure is not remembered', async () => {
  let resolves = 0;
  let fail = true;
  const resolve = cachedIdentity(async () => {
    resolves++;
    if (fail) throw new StorageError('retryable', 'down');
    return { id: 'x', via: 'access-key' };
  });
  assert.instance(await resolve().then(() => undefined, (err: unknown) => err), StorageError);
  fail = false;
  const [a, b] = await Promise.all([resolve(), resolve()]);
  assert.is(a, b);
  await resolve();
  assert.is(resolves, 2, 'one failed attempt, then one that is kept');
  const local = new LocalStorage(tempDir('ident-local'));
  assert.is(await local.identity(), await local.identity(), 'the same answer, resolved once');
});

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
