/** The storage conformance suite: every backend runs the same contract tests. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readAll, type Storage, isStorageError } from '../engine/storage/storage.js';

export function conformance(backend: string, make: () => Promise<Storage>): void {
  const t = suite(`conformance: ${backend}`);
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

  t('create-only refuses an existing key and leaves it unchanged', async () => {
    assert.is((await s.put('once', Buffer.from('first'), { ifAbsent: true })).status, 'written');
    assert.is((await s.put('once', Buffer.from('second'), { ifAbsent: true })).status, 'precondition-failed');
    assert.is((await readAll(s, 'once')).toString(), 'first');
  });

  t('compare-and-swap writes only over the expected etag', async () => {
    const first = await s.put('cas', Buffer.from('v1'));
    assert.is(first.status, 'written');
    const etag1 = (await s.stat('cas'))!.etag;
    const second = await s.put('cas', Buffer.from('v2'), { ifMatch: etag1 });
    assert.is(second.status, 'written');
    assert.is((await s.put('cas', Buffer.from('v3'), { ifMatch: etag1 })).status, 'precondition-failed');
    assert.is((await readAll(s, 'cas')).toString(), 'v2');
    assert.is((await s.put('nothing-here', Buffer.from('x'), { ifMatch: etag1 })).status, 'precondition-failed');
  });

  t('racing compare-and-swaps: exactly one wins per round', async () => {
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

  t('multipart upload assembles parts in order and is invisible until complete', async () => {
    const up = await s.openMultipart('mp/object');
    await up.writePart(1, Buffer.from('part-one|'));
    await Promise.all([up.writePart(2, [Buffer.from('part-'), Buffer.from('two|')]), up.writePart(3, Buffer.from('three'))]);
    assert.is(await s.stat('mp/object'), undefined);
    const info = await up.complete();
    assert.is(info.size, 'part-one|part-two|three'.length);
    assert.is((await readAll(s, 'mp/object')).toString(), 'part-one|part-two|three');
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

  t('delete removes keys; missing keys are fine', async () => {
    await s.put('d1', Buffer.from('1'));
    await s.delete(['d1', 'never-was']);
    assert.is(await s.stat('d1'), undefined);
  });

  t.run();
}
