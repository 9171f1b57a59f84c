/** Cancellation below the CLI: the abortable store, the retry decorator and the upload under an aborted signal. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { isDatamoverError } from '../engine/errors.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { abortable } from '../engine/storage/abortable.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { RetryingStorage, defaultRetryPolicy } from '../engine/storage/retry.js';
import { type RequestOptions, StorageError } from '../engine/storage/storage.js';
import { seededBytes, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('cancel: the AbortSignal through the engine');

const interrupted = (err: unknown) => isDatamoverError(err, 'INTERRUPTED');

t('after the abort a request is refused with INTERRUPTED before it is sent; a multipart abort still goes through', async () => {
  const inner = new MemoryStorage();
  const controller = new AbortController();
  const store = abortable(inner, controller.signal);
  const upload = await store.openMultipart('k');
  await upload.writePart(1, Buffer.from('part'));
  let aborted = false;
  const realOpen = inner.openMultipart.bind(inner);
  inner.openMultipart = async (key, opts) => ({ ...await realOpen(key, opts), abort: async () => { aborted = true; } });
  const second = await store.openMultipart('k2');
  controller.abort();
  for (const call of [() => store.put('x', Buffer.from('x')), () => store.stat('x'), () => upload.writePart(2, Buffer.from('y')), () => upload.complete()]) {
    await call().then(() => assert.unreachable('refused'), (err: unknown) => assert.ok(interrupted(err), String(err)));
  }
  await second.abort();
  assert.ok(aborted, 'abort reached the backend');
  assert.is(await inner.stat('x'), undefined, 'nothing written');
});

t('the retry decorator stops retrying, mid-backoff, once the request\'s signal is aborted', async () => {
  let calls = 0;
  const failing = new MemoryStorage();
  failing.stat = async (_key: string, _opts?: RequestOptions) => { calls++; throw new StorageError('retryable', 'flaky'); };
  const retrying = new RetryingStorage(failing, { ...defaultRetryPolicy, attempts: 1000, baseDelayMs: 200, maxDelayMs: 200 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = Date.now();
  const err = await abortable(retrying, controller.signal).stat('k').catch((e: unknown) => e);
  assert.ok(interrupted(err), String(err));
  assert.ok(Date.now() - started < 1_000, `ended ${Date.now() - started} ms after the start`);
  assert.ok(calls < 10, `${calls} attempts`);
});

t('an upload whose signal is aborted mid-run fails with INTERRUPTED and commits nothing', async () => {
  const storage = await withRepo(new MemoryStorage());
  const walBefore = await keysUnder(storage, 'wal/');
  const src = tempDir('cancel-src');
  for (let i = 0; i < 20; i++) writeFile(src, `f${i}`, seededBytes(i, 1024 * 1024));
  const controller = new AbortController();
  // The first hashed job reports progress at once: the abort lands with most of the tree still to do.
  const err = await uploadBundle({
    storage, repo: 'r', source: src, contributor: who, label: 'l', signal: controller.signal, tuning: { workers: 1 },
    reporter: (e) => { if (e.type === 'upload.progress') controller.abort(); },
  }).then(() => undefined, (e: unknown) => e);
  assert.ok(interrupted(err), String(err));
  const meta = await keysUnder(storage, 'meta/repos/r/');
  assert.not.ok(meta.some((k) => k.includes('/bundles/') || k.includes('/labels/')), meta.join(', '));
  assert.equal(await keysUnder(storage, 'wal/'), walBefore, 'no WAL record');
});

async function keysUnder(storage: MemoryStorage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list(prefix)) keys.push(e.key);
  return keys;
}

t.run();
