/** The storage conformance suite: every backend runs the same contract tests. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readAll, type Storage, isStorageError } from '../engine/storage/storage.js';
import { seededBytes } from './helpers.js';

export interface ConformanceOptions {
  /** Why this server cannot honour preconditions; the tests that need them are skipped and say so. */
  noPreconditions?: string;
  /** Why this server cannot take a multipart upload in several requests; those tests are skipped and say so. */
  noMultiRequestParts?: string;
}

export function conformance(backend: string, make: () => Promise<Storage>, opts: ConformanceOptions = {}): void {
  const t = suite(`conformance: ${backend}`);
  const skipping = (why: string) => (name: string, fn: () => Promise<void>) => {
    console.log(`skipped: conformance: ${backend}: "${name}" (${why})`);
    t.skip(`${name} [skipped: ${why}]`, fn);
  };
  const cas = opts.noPreconditions ? skipping(opts.noPreconditions) : t;
  const parts = opts.noMultiRequestParts ? skipping(opts.noMultiRequestParts) : t;
  let s: Storage;
  t.before.each(async () => { s = await make(); });

  t('put then get and stat round-trip bytes', async () => {
    const data = Buffer.from('hello, store');
    const put = await s.put('a/b/c.txt', data);
    assert.is(put.status, 'written');
    assert.equal(await readAll(s, 'a/b/c.txt'), data);
    assert.is((await s.stat('a/b/c.txt'))?.size, data.length);
  });

  t('a body of several buffers is stored back to back', async () => {
    await s.put('multi', [Buffer.from('ab'), Buffer.from(''), Buffer.from('cde')]);
    assert.is((await readAll(s, 'multi')).toString(), 'abcde');
  });

  t('stat of a missing key is undefined; get fails notFound', async () => {
    assert.is(await s.stat('missing'), undefined);
    try {
      await readAll(s, 'missing');
      assert.unreachable();
    } catch (err) {
      assert.ok(isStorageError(err, 'notFound'), String(err));
    }
  });

  t('ranged get returns exactly the range', async () => {
    await s.put('r', Buffer.from('0123456789'));
    assert.is((await readAll(s, 'r', { offset: 3, length: 4 })).toString(), '3456');
    assert.is((await readAll(s, 'r', { offset: 9, length: 1 })).toString(), '9');
    assert.is((await readAll(s, 'r', { offset: 2, length: 0 })).length, 0);
  });

  cas('create-only refuses an existing key and leaves it unchanged', async () => {
    assert.is((await s.put('once', Buffer.from('first'), { ifAbsent: true })).status, 'written');
    assert.is((await s.put('once', Buffer.from('second'), { ifAbsent: true })).status, 'precondition-failed');
    assert.is((await readAll(s, 'once')).toString(), 'first');
  });

  cas('compare-and-swap writes only over the expected etag', async () => {
    const first = await s.put('cas', Buffer.from('v1'));
    assert.is(first.status, 'written');
    const etag1 = (await s.stat('cas'))!.etag;
    const second = await s.put('cas', Buffer.from('v2'), { ifMatch: etag1 });
    assert.is(second.status, 'written');
    assert.is((await s.put('cas', Buffer.from('v3'), { ifMatch: etag1 })).status, 'precondition-failed');
    assert.is((await readAll(s, 'cas')).toString(), 'v2');
    assert.is((await s.put('nothing-here', Buffer.from('x'), { ifMatch: etag1 })).status, 'precondition-failed');
  });

  cas('racing compare-and-swaps: exactly one wins per round', async () => {
    await s.put('race', Buffer.from('0'));
    for (let round = 0; round < 5; round++) {
      const etag = (await s.stat('race'))!.etag;
      const results = await Promise.all([1, 2, 3, 4].map((w) => s.put('race', Buffer.from(`${round}-${w}`), { ifMatch: etag })));
      assert.is(results.filter((r) => r.status === 'written').length, 1);
    }
  });

  t('list is sorted, filtered by prefix, folds common prefixes with a delimiter', async () => {
    for (const k of ['p/b', 'p/a', 'p/d/x', 'p/d/y', 'p/c/z', 'q/a', 'pz']) await s.put(k, Buffer.from(k));
    const flat: string[] = [];
    for await (const e of s.list('p/')) flat.push(e.key);
    assert.equal(flat, ['p/a', 'p/b', 'p/c/z', 'p/d/x', 'p/d/y']);
    const folded: string[] = [];
    for await (const e of s.list('p/', { delimiter: '/' })) folded.push(`${e.key}${e.isPrefix ? ' (prefix)' : ''}`);
    assert.equal(folded, ['p/a', 'p/b', 'p/c/ (prefix)', 'p/d/ (prefix)']);
  });

  t('a common prefix whose objects were all deleted is no longer listed', async () => {
    for (const k of ['e/gone/a', 'e/gone/deeper/b', 'e/kept/c']) await s.put(k, Buffer.from(k));
    await s.delete(['e/gone/a', 'e/gone/deeper/b']);
    const folded: string[] = [];
    for await (const e of s.list('e/', { delimiter: '/' })) folded.push(e.key);
    assert.equal(folded, ['e/kept/']);
  });

  parts('multipart upload assembles parts in order and is invisible until complete', async () => {
    // Every part but the last at the backend's minimum part size (S3: 5 MiB), with an unaligned tail.
    const min = Math.max(s.capabilities.minPartSize, 16);
    const one = seededBytes(11, min + 3);
    const two = [seededBytes(12, min), seededBytes(13, 5)];
    const three = Buffer.from('three');
    const up = await s.openMultipart('mp/object');
    await up.writePart(1, one);
    await Promise.all([up.writePart(2, two), up.writePart(3, three)]);
    assert.is(await s.stat('mp/object'), undefined);
    const info = await up.complete();
    const expected = Buffer.concat([one, ...two, three]);
    assert.is(info.size, expected.length);
    assert.ok((await readAll(s, 'mp/object')).equals(expected), 'bytes differ');
    assert.is((await s.stat('mp/object'))?.size, expected.length);
  });

  t('a multipart upload of one short part (the whole object in one request) round-trips', async () => {
    const up = await s.openMultipart('mp/short');
    await up.writePart(1, [Buffer.from('only '), Buffer.from('part')]);
    await up.complete();
    assert.is((await readAll(s, 'mp/short')).toString(), 'only part');
  });

  t('an aborted multipart upload leaves nothing', async () => {
    const up = await s.openMultipart('mp/aborted');
    await up.writePart(1, Buffer.from('data'));
    await up.abort();
    await up.abort();
    assert.is(await s.stat('mp/aborted'), undefined);
    const keys: string[] = [];
    for await (const e of s.list('mp/')) keys.push(e.key);
    assert.equal(keys, []);
  });

  t('list pages through more than 1000 keys without losing or repeating one', async () => {
    const names = Array.from({ length: 1005 }, (_, i) => `many/k${String(i).padStart(5, '0')}`);
    for (let i = 0; i < names.length; i += 32) await Promise.all(names.slice(i, i + 32).map((k) => s.put(k, Buffer.from(k))));
    const listed: string[] = [];
    for await (const e of s.list('many/')) listed.push(e.key);
    assert.equal(listed, names);
    await s.delete(names);
    const left: string[] = [];
    for await (const e of s.list('many/')) left.push(e.key);
    assert.equal(left, []);
  });

  t('delete removes keys; missing keys are fine', async () => {
    await s.put('d1', Buffer.from('1'));
    await s.delete(['d1', 'never-was']);
    assert.is(await s.stat('d1'), undefined);
  });

  t.run();
}
