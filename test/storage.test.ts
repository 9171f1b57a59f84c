import { rmSync } from 'node:fs';
import { Readable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalStorage } from '../engine/storage/local.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { RetryingStorage } from '../engine/storage/retry.js';
import { type Storage, StorageError, readAll } from '../engine/storage/storage.js';
import { conformance } from './conformance.js';
import { tempDir } from './helpers.js';

conformance('memory', async () => new MemoryStorage());
conformance('local', async () => new LocalStorage(tempDir('local')));
conformance('local behind retry', async () => new RetryingStorage(new LocalStorage(tempDir('local-retry'))));

const t = suite('storage: local specifics and retry');

t('local refuses keys that would leave the root', async () => {
  const s = new LocalStorage(tempDir('keys'));
  for (const key of ['../x', '/abs', 'a/../../b', 'a//b', 'nul\0byte']) {
    try {
      await s.put(key, Buffer.from('x'));
      assert.unreachable(key);
    } catch (err) {
      assert.instance(err, StorageError, key);
    }
  }
});

t('two LocalStorage instances (as two processes would) agree on create-only', async () => {
  const dir = tempDir('two');
  const [a, b] = [new LocalStorage(dir), new LocalStorage(dir)];
  const results = await Promise.all([a.put('k', Buffer.from('a'), { ifAbsent: true }), b.put('k', Buffer.from('b'), { ifAbsent: true })]);
  assert.is(results.filter((r) => r.status === 'written').length, 1);
  rmSync(dir, { recursive: true, force: true });
});

t('retry replays the same body after retryable failures, and gives up on permanent ones', async () => {
  const inner = new MemoryStorage();
  let failures = 2;
  const flaky: Storage = Object.assign(Object.create(inner), {
    put: async (...args: Parameters<Storage['put']>) => {
      if (failures-- > 0) throw new StorageError('retryable', 'transient');
      return inner.put(...args);
    },
  });
  const s = new RetryingStorage(flaky, { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, deadlineMs: 5_000 });
  await s.put('k', [Buffer.from('same '), Buffer.from('bytes')]);
  assert.is((await readAll(inner, 'k')).toString(), 'same bytes');
  const broken: Storage = Object.assign(Object.create(inner), {
    put: async () => { throw new StorageError('permanent', 'denied'); },
  });
  let calls = 0;
  const s2 = new RetryingStorage(broken, { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, deadlineMs: 5_000, onRetry: () => calls++ });
  try { await s2.put('k', Buffer.from('x')); assert.unreachable(); } catch (err) { assert.is((err as StorageError).kind, 'permanent'); }
  assert.is(calls, 0);
});

/** Bodies that break off: each get delivers at most `cut` bytes, then fails like a reset socket (or ends short). */
function breakingGets(inner: Storage, cut: number, how: 'error' | 'short'): Storage & { gets: number } {
  const wrapper = Object.assign(Object.create(inner), {
    gets: 0,
    get: async (key: string, opts?: Parameters<Storage['get']>[1]) => {
      wrapper.gets++;
      const whole = await readAll(inner, key, opts?.range);
      return Readable.from((async function* () {
        yield whole.subarray(0, cut);
        if (whole.length <= cut) return;
        if (how === 'error') throw Object.assign(new Error('aborted'), { code: 'ECONNRESET' });
      })());
    },
  });
  return wrapper;
}

const fast = { attempts: 5, baseDelayMs: 1, maxDelayMs: 2, deadlineMs: 5_000 };

t('a body that breaks off (reset or cut short) resumes from the first missing byte, ranged and whole', async () => {
  const inner = new MemoryStorage();
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  await inner.put('pack', data);
  const reset = breakingGets(inner, 300, 'error');
  const s = new RetryingStorage(reset, fast);
  assert.ok((await readAll(s, 'pack')).equals(data), 'whole object');
  assert.ok((await readAll(s, 'pack', { offset: 100, length: 850 })).equals(data.subarray(100, 950)), 'range');
  // 1000 bytes in 300-byte pieces: 4 gets; 850 bytes: 3. Attempts restart whenever bytes arrived.
  assert.is(reset.gets, 7);
  // A clean end short of the range asked for is caught by counting (an unranged read's length is HTTP's to check).
  const short = breakingGets(inner, 300, 'short');
  assert.ok((await readAll(new RetryingStorage(short, fast), 'pack', { offset: 100, length: 850 })).equals(data.subarray(100, 950)));
  assert.is(short.gets, 3);
  const stuck = new RetryingStorage(breakingGets(inner, 0, 'error'), fast);
  try { await readAll(stuck, 'pack'); assert.unreachable(); } catch (err) {
    assert.is((err as StorageError).kind, 'retryable');
    assert.match((err as Error).message, /broke off after 0 bytes/);
  }
});

t('a conditional put whose response was lost is `written` when the store holds our bytes, refused when not', async () => {
  const inner = new MemoryStorage();
  let lose = 1;
  const lossy: Storage = Object.assign(Object.create(inner), {
    put: async (...args: Parameters<Storage['put']>) => {
      const result = await inner.put(...args);
      if (lose-- > 0) throw new StorageError('retryable', 'socket hang up'); // applied, but the answer never came
      return result;
    },
  });
  const s = new RetryingStorage(lossy, fast);
  const first = await s.put('desc', Buffer.from('ours'), { ifAbsent: true });
  assert.is(first.status, 'written');
  lose = 1;
  const label = await inner.stat('desc');
  assert.is((await s.put('desc', Buffer.from('next'), { ifMatch: label!.etag })).status, 'written');
  assert.is((await s.put('desc', Buffer.from('other'), { ifAbsent: true })).status, 'precondition-failed');
});

t('retries stop at the deadline, and report each retry', async () => {
  const inner = new MemoryStorage();
  const down: Storage = Object.assign(Object.create(inner), {
    stat: async () => { throw new StorageError('retryable', 'SlowDown'); },
  });
  let retries = 0;
  const s = new RetryingStorage(down, { attempts: 1000, baseDelayMs: 20, maxDelayMs: 40, deadlineMs: 300, onRetry: () => retries++ });
  const started = Date.now();
  try { await s.stat('k'); assert.unreachable(); } catch (err) { assert.match((err as Error).message, /SlowDown/); }
  assert.ok(Date.now() - started < 400, `gave up after ${Date.now() - started} ms with a 300 ms deadline`);
  assert.ok(retries >= 5, `${retries} retries`);
});

t.run();
