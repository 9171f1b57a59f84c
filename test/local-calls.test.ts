import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { listLocalFiles } from '../engine/storage/local-list.js';
import { LOOP_READ_BYTES, readRange } from '../engine/storage/local-read.js';
import { LoopCalls, SLICE_MS, SLOW_CALL_MS, SLOW_CALLS_TO_SWITCH } from '../engine/storage/loop-calls.js';
import { LocalStorage } from '../engine/storage/local.js';
import { StorageError, readAll } from '../engine/storage/storage.js';
import { tempDir } from './helpers.js';

const t = suite('local store: listing, small reads and loop calls');

const busy = (ms: number) => { const end = performance.now() + ms; while (performance.now() < end) { /* spin */ } };

/** LoopCalls that hands each loop result to `after` (to change the tree between two calls) and counts calls. */
class HookedCalls extends LoopCalls {
  calls = 0;
  pooled = 0;
  constructor(private readonly after: (result: unknown) => void = () => {}) { super(); }
  override run<T>(onLoop: () => T, onPool: () => Promise<T>): Promise<T> {
    this.calls++;
    return super.run(() => { const result = onLoop(); this.after(result); return result; }, () => { this.pooled++; return onPool(); });
  }
}

/** Whether `result` is a directory read that returned an entry `name`. */
const readOf = (result: unknown, name: string) => Array.isArray(result) && result.some((e: { name?: string }) => e.name === name);

const slowCall = () => { busy(SLOW_CALL_MS * 3); return 'slow'; };

t('cheap calls run on the loop; once calls are often slow every later call goes to the pool', async () => {
  const calls = new LoopCalls();
  let pooled = 0;
  const pool = async () => { pooled++; return 'pool'; };
  for (let i = 0; i < 50; i++) assert.is(await calls.run(() => 'loop', pool), 'loop');
  assert.is(pooled, 0);
  for (let i = 0; i < SLOW_CALLS_TO_SWITCH; i++) assert.is(await calls.run(slowCall, pool), 'slow');
  assert.ok(calls.onPool);
  assert.is(await calls.run(() => 'loop', pool), 'pool');
  assert.is(pooled, 1);
});

t('a few slow calls among many cheap ones (a descheduled thread) keep calls on the loop', async () => {
  // Slow here means over 2 ms (the calls below take 6): a loaded test machine deschedules even a cheap call.
  const calls = new LoopCalls(2);
  const slowCall = () => { busy(6); return 'slow'; };
  const pool = async () => 'pool';
  for (let i = 0; i < 5000; i++) {
    const slow = i % 500 === 499;
    assert.is(await calls.run(slow ? slowCall : () => 'loop', pool), slow ? 'slow' : 'loop');
  }
  assert.not.ok(calls.onPool);
});

t('a long run of cheap calls lets timers run between slices', async () => {
  const calls = new LoopCalls(Infinity); // on the loop throughout, however loaded the machine
  let fired = 0;
  const timer = setInterval(() => { fired++; }, 1);
  const start = performance.now();
  // Each call stays under SLOW_CALL_MS; together they hold the loop for many slices.
  while (performance.now() - start < SLICE_MS * 8) await calls.run(() => busy(SLOW_CALL_MS / 4), async () => assert.unreachable('pool'));
  clearInterval(timer);
  assert.not.ok(calls.onPool);
  assert.ok(fired >= 3, `the timer fired ${fired} times in ${SLICE_MS * 8} ms of calls`);
});

t('an error from the loop form is thrown as it is, and does not flip calls to the pool', async () => {
  const calls = new LoopCalls();
  const boom = new Error('boom');
  await calls.run(() => { throw boom; }, async () => 0).then(() => assert.unreachable(), (err) => assert.is(err, boom));
  assert.not.ok(calls.onPool);
});

function storeTree(tag: string): string {
  const root = tempDir(tag);
  for (const dir of ['packs/aa', 'packs/bb', '.tmp']) mkdirSync(path.join(root, dir), { recursive: true });
  for (const [file, body] of [['packs/aa/1', 'x'], ['packs/aa/2', 'yy'], ['packs/bb/3', 'zzz'], ['top', 'tttt'], ['.tmp/partial', 'p']]) {
    writeFileSync(path.join(root, file), body);
  }
  return root;
}

const keysOf = (files: { key: string; size: number }[]) => files.map((f) => `${f.key}=${f.size}`).sort();

t('lists every file under the prefix with its size, and leaves out the skipped top-level entry', async () => {
  const root = storeTree('list');
  assert.equal(keysOf(await listLocalFiles(root, '', false, '.tmp', new LoopCalls())), ['packs/aa/1=1', 'packs/aa/2=2', 'packs/bb/3=3', 'top=4']);
  assert.equal(keysOf(await listLocalFiles(root, 'packs/a', false, '.tmp', new LoopCalls())), ['packs/aa/1=1', 'packs/aa/2=2']);
  assert.equal(keysOf(await listLocalFiles(root, 'packs/', true, '.tmp', new LoopCalls())), ['packs/aa/=0', 'packs/bb/=0']);
  rmSync(root, { recursive: true, force: true });
});

t('a file deleted between the directory read and its stat is left out; the listing does not fail', async () => {
  const root = storeTree('vanish-file');
  const calls = new HookedCalls((result) => { if (readOf(result, '1')) rmSync(path.join(root, 'packs/aa/1')); });
  assert.equal(keysOf(await listLocalFiles(root, 'packs/', false, '.tmp', calls)), ['packs/aa/2=2', 'packs/bb/3=3']);
  rmSync(root, { recursive: true, force: true });
});

t('a directory removed between its parent\'s read and its own is left out; the listing does not fail', async () => {
  const root = storeTree('vanish-dir');
  const calls = new HookedCalls((result) => { if (readOf(result, 'aa')) rmSync(path.join(root, 'packs/aa'), { recursive: true }); });
  assert.equal(keysOf(await listLocalFiles(root, 'packs/', false, '.tmp', calls)), ['packs/bb/3=3']);
  rmSync(root, { recursive: true, force: true });
});

t('a file turned into a directory or a symlink while listed is left out, not counted as a file', async () => {
  const root = storeTree('vanish-kind');
  const calls = new HookedCalls((result) => {
    if (!readOf(result, '1')) return;
    rmSync(path.join(root, 'packs/aa/1'));
    mkdirSync(path.join(root, 'packs/aa/1'));
  });
  assert.equal(keysOf(await listLocalFiles(root, 'packs/aa/', false, '.tmp', calls)), ['packs/aa/2=2']);
  rmSync(root, { recursive: true, force: true });
});

t('any other file system error fails the listing with a StorageError naming the path', async () => {
  const root = storeTree('list-error');
  const calls = new HookedCalls((result) => { if (readOf(result, '1')) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }); });
  try {
    await listLocalFiles(root, 'packs/', false, '.tmp', calls);
    assert.unreachable('listed');
  } catch (err) {
    assert.instance(err, StorageError);
    assert.is((err as StorageError).kind, 'permanent');
    assert.match((err as Error).message, /local store: packs\/aa: EIO/);
  }
  rmSync(root, { recursive: true, force: true });
});

t('the same listing comes back through the thread pool once calls are slow', async () => {
  const root = storeTree('list-pool');
  const calls = new HookedCalls();
  for (let i = 0; i < SLOW_CALLS_TO_SWITCH; i++) await calls.run(slowCall, async () => 'pool');
  assert.equal(keysOf(await listLocalFiles(root, '', false, '.tmp', calls)), ['packs/aa/1=1', 'packs/aa/2=2', 'packs/bb/3=3', 'top=4']);
  assert.ok(calls.pooled > 0);
  assert.is(calls.pooled, calls.calls - SLOW_CALLS_TO_SWITCH);
  rmSync(root, { recursive: true, force: true });
});

const poolCalls = () => { const calls = new HookedCalls(); for (let i = 0; i < SLOW_CALLS_TO_SWITCH; i++) void calls.run(slowCall, async () => 'pool'); return calls; };

t('ranges read on the loop, on the pool and past the loop size come back byte for byte, short at the end of the file', async () => {
  const dir = tempDir('read');
  const data = randomBytes(LOOP_READ_BYTES * 3);
  writeFileSync(path.join(dir, 'f'), data);
  for (const [name, calls] of [['loop', new HookedCalls()], ['pool', poolCalls()]] as const) {
    for (const range of [{ offset: 0, length: 100 }, { offset: 7, length: LOOP_READ_BYTES }, { offset: 3, length: LOOP_READ_BYTES * 2 }, { offset: data.length - 10, length: 50 }]) {
      const into = Buffer.alloc(range.length);
      const got = await readRange(path.join(dir, 'f'), range, into, calls);
      const want = data.subarray(range.offset, range.offset + range.length);
      assert.is(got, want.length, `${name} ${JSON.stringify(range)}`);
      assert.ok(into.subarray(0, got).equals(want), `${name} ${JSON.stringify(range)}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

t('a missing file fails the read with ENOENT, on the loop and on the pool', async () => {
  for (const calls of [new HookedCalls(), poolCalls()]) {
    await readRange(path.join(tempDir('read-missing'), 'nope'), { offset: 0, length: 10 }, Buffer.alloc(10), calls)
      .then(() => assert.unreachable(), (err) => assert.is((err as NodeJS.ErrnoException).code, 'ENOENT'));
  }
});

t('a FIFO in place of an object fails the read (ESPIPE) instead of hanging, on the loop and on the pool', async () => {
  const dir = tempDir('read-fifo');
  execFileSync('mkfifo', [path.join(dir, 'k')]);
  for (const calls of [new HookedCalls(), poolCalls()]) {
    const read = readRange(path.join(dir, 'k'), { offset: 0, length: 10 }, Buffer.alloc(10), calls);
    const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the read hung')), 5000).unref());
    await Promise.race([read, timeout]).then(() => assert.unreachable(), (err) => assert.is((err as NodeJS.ErrnoException).code, 'ESPIPE'));
  }
  rmSync(dir, { recursive: true, force: true });
});

t('a FIFO in place of an object fails a streamed get instead of hanging', async () => {
  const dir = tempDir('get-fifo');
  execFileSync('mkfifo', [path.join(dir, 'k')]);
  const read = readAll(new LocalStorage(dir), 'k');
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the get hung')), 5000).unref());
  await Promise.race([read, timeout]).then(() => assert.unreachable(), (err) => assert.is((err as Error).message, 'local store: k: not a regular file'));
  rmSync(dir, { recursive: true, force: true });
});

t.run();
