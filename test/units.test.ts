import { renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkManifestPath } from '../engine/download/safe-paths.js';
import { CompactBlobIndex } from '../engine/meta/compact-index.js';
import { coalesce } from '../engine/download/fetch-plan.js';
import { planJobs } from '../engine/plan/jobs.js';
import type { ScanEntry } from '../engine/scan/walk.js';
import { TaskGroup } from '../engine/runtime/task-group.js';
import { comparePaths } from '../engine/vocab.js';
import { hashRanges } from '../workers/hash-ranges.js';
import { seededBytes, tempDir } from './helpers.js';

const t = suite('units: workers, planning, paths');

t('hashRanges reads ranges back to back into the buffer and hashes each (no pool)', () => {
  const dir = tempDir('hr');
  const data = seededBytes(3, 10_000);
  writeFileSync(path.join(dir, 'f'), data);
  const abs = path.join(dir, 'f');
  const out = hashRanges({ buffer: new ArrayBuffer(10_000), ranges: [
    { abs, offset: 0, length: 4_000, fileSize: 10_000 }, { abs, offset: 4_000, length: 6_000, fileSize: 10_000 },
  ] });
  assert.is(out.failure, undefined);
  assert.equal(out.digests, [
    createHash('sha256').update(data.subarray(0, 4_000)).digest('hex'),
    createHash('sha256').update(data.subarray(4_000)).digest('hex'),
  ]);
  assert.equal(Buffer.from(out.buffer), data);
});

t('hashRanges reports a missing file and a file that changed size as values, buffer returned', () => {
  const dir = tempDir('hr2');
  const gone = hashRanges({ buffer: new ArrayBuffer(8), ranges: [{ abs: path.join(dir, 'nope'), offset: 0, length: 8, fileSize: 8 }] });
  assert.is(gone.failure?.code, 'ENOENT');
  assert.is(gone.buffer.byteLength, 8);
  writeFileSync(path.join(dir, 'grown'), 'abcdefghijkl');
  const grown = hashRanges({ buffer: new ArrayBuffer(8), ranges: [{ abs: path.join(dir, 'grown'), offset: 0, length: 8, fileSize: 8 }] });
  assert.is(grown.failure?.code, 'CHANGED');
  const shrunk = hashRanges({ buffer: new ArrayBuffer(20), ranges: [{ abs: path.join(dir, 'grown'), offset: 0, length: 20, fileSize: 20 }] });
  assert.is(shrunk.failure?.code, 'CHANGED');
});

t('hashRanges refuses a file replaced (by a symlink, or by another file of the same size) since the scan', () => {
  const dir = tempDir('hr-replaced');
  writeFileSync(path.join(dir, 'target'), 'abcdefgh');
  writeFileSync(path.join(dir, 'f'), '12345678');
  const ino = statSync(path.join(dir, 'f')).ino;
  const range = { abs: path.join(dir, 'f'), offset: 0, length: 8, fileSize: 8, ino };
  assert.is(hashRanges({ buffer: new ArrayBuffer(8), ranges: [range] }).failure, undefined);
  renameSync(path.join(dir, 'f'), path.join(dir, 'f-old')); // kept, so its inode number is not reused
  symlinkSync(path.join(dir, 'target'), path.join(dir, 'f'));
  assert.is(hashRanges({ buffer: new ArrayBuffer(8), ranges: [range] }).failure?.code, 'ELOOP', 'never read through a symlink');
  writeFileSync(path.join(dir, 'other'), '87654321');
  renameSync(path.join(dir, 'other'), path.join(dir, 'f'));
  assert.is(hashRanges({ buffer: new ArrayBuffer(8), ranges: [range] }).failure?.code, 'CHANGED', 'another inode');
});

t('hashRanges keeps hashing the other files of a task after one fails, and names the failed one', () => {
  const dir = tempDir('multi');
  writeFileSync(path.join(dir, 'a'), seededBytes(1, 10));
  writeFileSync(path.join(dir, 'c'), seededBytes(3, 10));
  const range = (name: string, offset: number, length: number, fileSize: number) => ({ abs: path.join(dir, name), offset, length, fileSize });
  const out = hashRanges({ buffer: new ArrayBuffer(40), ranges: [range('a', 0, 10, 10), range('b', 0, 5, 10), range('b', 5, 5, 10), range('c', 0, 10, 10)] });
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  assert.equal(out.digests, [sha(seededBytes(1, 10)), '', '', sha(seededBytes(3, 10))]);
  assert.equal(out.failures?.map((f) => [f.index, path.basename(f.abs), f.code]), [[1, 'b', 'ENOENT'], [2, 'b', 'ENOENT']]);
  assert.is(out.failure?.abs, path.join(dir, 'b'), 'a failed open is blamed on the file that failed, not the one before');
});

t('planJobs cuts at fixed chunk offsets and batches small files up to the buffer size', async () => {
  const entry = (p: string, size: number): ScanEntry => ({ path: p, abs: `/x/${p}`, type: 'file', size, mode: 0o644, mtime: 0, mtimeNanos: 0, ino: 0, ctime: 0, ctimeNs: '0', devIno: '0:0', nlink: 1 });
  async function* entries() {
    yield entry('a', 10); yield entry('b', 25); yield entry('c', 0); yield entry('d', 7);
  }
  const items = [];
  for await (const item of planJobs(entries(), { chunkSize: 10, bufferSize: 20, maxRangesPerJob: 100 })) items.push(item);
  const jobs = items.filter((i) => i.kind === 'job');
  assert.equal(jobs.map((j) => j.ranges.map((r) => `${r.abs.slice(3)}@${r.offset}+${r.length}`)), [
    ['a@0+10', 'b@0+10'], ['b@10+10', 'b@20+5'], ['d@0+7'],
  ]);
  assert.equal(items.filter((i) => i.kind === 'entry').map((e) => e.chunkCount), [1, 3, 0, 1]);
});

t('manifest order is component-wise', () => {
  const paths = ['a-c', 'a/b', 'a', 'a/b/c', 'b', 'a.x'];
  assert.equal([...paths].sort(comparePaths), ['a', 'a/b', 'a/b/c', 'a-c', 'a.x', 'b']);
  // Against the definition (compare components in turn) on seeded random paths over a small alphabet.
  const byComponents = (x: string, y: string) => {
    const [xs, ys] = [x.split('/'), y.split('/')];
    for (let i = 0; i < Math.min(xs.length, ys.length); i++) if (xs[i] !== ys[i]) return xs[i]! < ys[i]! ? -1 : 1;
    return xs.length - ys.length;
  };
  const bytes = seededBytes(42, 40_000);
  const alphabet = ['a', 'b', '/', '-', '.', 'é', ' '];
  const word = (at: number) => {
    let out = 'x';
    for (let i = 0; i < bytes[at]! % 6; i++) out += alphabet[bytes[at + i + 1]! % alphabet.length];
    return out.replace(/\/+/g, '/').replace(/\/$/, '');
  };
  for (let i = 0; i < 5_000; i++) {
    const [x, y] = [word(i * 8), word(i * 8 + 4)];
    assert.is(Math.sign(comparePaths(x, y)), Math.sign(byComponents(x, y)), `${x} vs ${y}`);
  }
});

t('unsafe manifest paths are rejected', () => {
  for (const p of ['../x', '/etc/passwd', 'a/../../b', 'a//b', '', '.', 'a/./b', 'nul\0']) {
    assert.throws(() => checkManifestPath(p), /not a safe relative path/, JSON.stringify(p));
  }
  assert.is(checkManifestPath('ok/path with spaces/ünï'), 'ok/path with spaces/ünï');
});

t('coalesce merges neighbouring blobs of a pack into one read', () => {
  const loc = (pack: string, offset: number, length: number) => ({ hash: `${pack}${offset}`, location: { pack, offset, length }, target: offset });
  const reads = coalesce([loc('p1', 100, 50), loc('p1', 0, 100), loc('p2', 0, 10), loc('p1', 10_000_000, 5)], 1024);
  assert.equal(reads.map((r) => [r.pack, r.offset, r.length, r.pieces.length]), [['p1', 0, 150, 2], ['p1', 10_000_000, 5, 1], ['p2', 0, 10, 1]]);
});

t('CompactBlobIndex agrees with a Map over 50,000 entries through growth; first location wins; bad hashes never match', () => {
  const index = new CompactBlobIndex(16);
  const reference = new Map<string, { pack: string; offset: number; length: number }>();
  const hash = (i: number) => createHash('sha256').update(`h${i}`).digest('hex');
  for (let i = 0; i < 50_000; i++) {
    const loc = { pack: `pack${i % 97}`, offset: i * 4096 + 2 ** 33, length: 1 + (i % 4_194_304) };
    index.set(hash(i), loc);
    reference.set(hash(i), loc);
  }
  index.set(hash(7), { pack: 'other', offset: 0, length: 1 });
  assert.is(index.size, 50_000);
  for (let i = 0; i < 50_000; i += 7) assert.equal(index.get(hash(i)), reference.get(hash(i)));
  assert.is(index.has(hash(50_001)), false);
  assert.is(index.get(hash(50_001)), undefined);
  assert.equal(new Map(index), reference, 'iteration yields every entry');
  index.set('zz'.repeat(32), { pack: 'p', offset: 0, length: 1 });
  assert.is(index.size, 50_000, 'a malformed hash is not recorded');
  assert.is(index.has('not-a-hash'), false);
});

t('CompactBlobIndex: entries iterate in the order set, across blocks; about 56 bytes an entry, a small index stays small', () => {
  const hash = (i: number) => createHash('sha256').update(`o${i}`).digest('hex');
  const small = new CompactBlobIndex();
  small.set(hash(0), { pack: 'p', offset: 0, length: 1 });
  assert.ok(small.byteSize < 1024 * 1024, `${small.byteSize} bytes for one entry`);
  const index = new CompactBlobIndex();
  const n = 200_000;
  for (let i = 0; i < n; i++) index.set(hash(i), { pack: `p${i >> 12}`, offset: i, length: 7 });
  assert.ok(index.byteSize / n < 64, `${(index.byteSize / n).toFixed(1)} bytes an entry`);
  let i = 0;
  for (const [h, loc] of index) {
    if (i % 997 === 0) assert.equal([h, loc], [hash(i), { pack: `p${i >> 12}`, offset: i, length: 7 }]);
    i++;
  }
  assert.is(i, n);
});

t('TaskGroup: at most `limit` run; the first failure stops new work and is thrown once every task settled', async () => {
  const group = new TaskGroup(3);
  let running = 0;
  let peak = 0;
  let finished = 0;
  const task = (ms: number, fail?: string) => async () => {
    peak = Math.max(peak, ++running);
    await new Promise((r) => setTimeout(r, ms));
    running--;
    finished++;
    if (fail) throw new Error(fail);
  };
  for (let i = 0; i < 6; i++) await group.start(task(5));
  await group.settle();
  assert.is(peak, 3);
  assert.is(finished, 6);
  await group.start(task(1, 'first'));
  await group.start(task(30, 'second'));
  await new Promise((r) => setTimeout(r, 10));
  try {
    await group.start(task(1));
    assert.unreachable('started after a failure');
  } catch (err) {
    assert.is((err as Error).message, 'first');
  }
  try {
    await group.settle();
    assert.unreachable();
  } catch (err) {
    assert.is((err as Error).message, 'first');
  }
  assert.is(running, 0, 'settle returns only once the slow task is done too');
  assert.is(finished, 8);
});

t.run();
