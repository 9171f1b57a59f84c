import { rmSync } from 'node:fs';
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

t.run();
