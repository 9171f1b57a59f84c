/**
 * Files changed under a running upload (issue 13, items 3 and 12): a file rewritten in place with the same size,
 * or swapped for a FIFO, after the scan saw it. Through the binary: the upload fails naming the file (exit 1), or
 * with --skip-on-error leaves it out and reports it (exit 3); it never hangs and never stores a mix of versions.
 * Then `hashRanges` directly, without a pool.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, renameSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ManifestWriter } from '../engine/meta/manifest.js';
import { ParentFiles } from '../engine/plan/file-cache.js';
import type { ScanEntry } from '../engine/scan/walk.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import type { BundleDescriptor, ChunkRef } from '../engine/vocab.js';
import { RACY_MS, hashRanges } from '../workers/hash-ranges.js';
import { type CliResult, cli, cliAsync, seededBytes, summaryOf, tempDir } from './helpers.js';

const t = suite('read changes: a file changed or swapped after the scan');
const MiB = 1024 * 1024;

/**
 * Uploads a tree whose first file is large (so the scan of the root is long done while it is read) and, at the
 * first progress event (the first job was hashed: the root was listed and `b` scanned), applies `change` to `b`,
 * which is read only after the large file. Times out (a hang) after 60 s.
 */
async function uploadChanging(change: (b: string) => void, extra: string[]): Promise<CliResult & { timedOut: boolean }> {
  const src = tempDir('rc-src');
  const store = tempDir('rc-store');
  // Sparse zeros: instant to make, one chunk stored, yet every byte is read and hashed (~0.3 s or more).
  writeFileSync(path.join(src, 'a-large'), '');
  truncateSync(path.join(src, 'a-large'), 384 * MiB);
  writeFileSync(path.join(src, 'b'), seededBytes(2, 6 * MiB));
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const child = cliAsync(['--store', store, '--json', '--workers', '1', 'bundle', 'upload', src, '--repo', 'r', ...extra]);
  let stdout = '';
  let stderr = '';
  let changed = false;
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (!changed && stdout.includes('"upload.progress"')) {
      changed = true;
      change(path.join(src, 'b'));
    }
  });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, 60_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 128)));
  clearTimeout(timer);
  assert.ok(changed, `the change was applied during the upload (stderr: ${stderr})`);
  return { code, stdout, stderr, timedOut };
}

const rewriteSameSize = (b: string) => {
  const fd = openSync(b, 'r+');
  writeSync(fd, seededBytes(3, 6 * MiB), 0, 6 * MiB, 0);
  closeSync(fd);
};

const swapForFifo = (b: string) => {
  rmSync(b);
  execFileSync('mkfifo', [b]);
};

t('a file rewritten in place with the same size after the scan: exit 1 naming it; --skip-on-error: left out, exit 3', async () => {
  const strict = await uploadChanging(rewriteSameSize, []);
  assert.is(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /cannot read .*[/]b: file (was modified|changed status|changed while being read)/);
  const skip = await uploadChanging(rewriteSameSize, ['--skip-on-error']);
  assert.is(skip.code, 3, skip.stderr);
  assert.equal(summaryOf(skip.stdout).skipped.map((f: { path: string }) => f.path), ['b']);
});

t('a file swapped for a FIFO after the scan: exit 1 naming it, no hang; --skip-on-error: left out, exit 3', async () => {
  const strict = await uploadChanging(swapForFifo, []);
  assert.not.ok(strict.timedOut, 'the upload hung on the FIFO');
  assert.is(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /cannot read .*[/]b: file is no longer a regular file/);
  const skip = await uploadChanging(swapForFifo, ['--skip-on-error']);
  assert.not.ok(skip.timedOut, 'the upload hung on the FIFO');
  assert.is(skip.code, 3, skip.stderr);
  assert.equal(summaryOf(skip.stdout).skipped.map((f: { path: string }) => f.path), ['b']);
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const scanOf = (abs: string) => {
  const st = statSync(abs, { bigint: true });
  return { fileSize: Number(st.size), ino: Number(st.ino), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs) };
};
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

t('hashRanges refuses a FIFO at once (no reader blocks), a device and a socket, as CHANGED', async () => {
  const dir = tempDir('hr-fifo');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, 'abcdefgh');
  const scanned = scanOf(abs);
  rmSync(abs);
  execFileSync('mkfifo', [abs]);
  const started = Date.now();
  const out = hashRanges({ buffer: new ArrayBuffer(8), ranges: [{ abs, offset: 0, length: 8, ...scanned }] });
  assert.ok(Date.now() - started < 2_000, 'refused quickly');
  assert.is(out.failure?.code, 'CHANGED');
  assert.match(out.failure!.message, /no longer a regular file/);
  assert.is(out.buffer.byteLength, 8, 'the buffer comes back');
  const device = hashRanges({ buffer: new ArrayBuffer(8), ranges: [{ abs: '/dev/null', offset: 0, length: 8, fileSize: 8 }] });
  assert.is(device.failure?.code, 'CHANGED', 'a character device');
  const socketPath = path.join(dir, 'sock');
  const server = createServer().listen(socketPath);
  await once(server, 'listening');
  try {
    const socket = hashRanges({ buffer: new ArrayBuffer(8), ranges: [{ abs: socketPath, offset: 0, length: 8, fileSize: 8 }] });
    assert.is(socket.failure?.code, 'CHANGED', 'a socket');
  } finally {
    server.close();
  }
});

t('hashRanges: a same-size rewrite after the scan is CHANGED; between two tasks of one file, the stamps differ', () => {
  const dir = tempDir('hr-rewrite');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, seededBytes(1, 2_000));
  sleep(RACY_MS + 5);
  const scanned = scanOf(abs);
  const range = (offset: number) => ({ abs, offset, length: 1_000, ...scanned });
  const first = hashRanges({ buffer: new ArrayBuffer(1_000), ranges: [range(0)] });
  assert.is(first.failure, undefined);
  assert.is(first.digests[0], sha(seededBytes(1, 2_000).subarray(0, 1_000)));
  sleep(5);
  const fd = openSync(abs, 'r+');
  writeSync(fd, seededBytes(2, 2_000), 0, 2_000, 0);
  closeSync(fd);
  const second = hashRanges({ buffer: new ArrayBuffer(1_000), ranges: [range(1_000)] });
  assert.is(second.failure?.code, 'CHANGED', 'the scan saw another mtime/ctime');
  // Without the scan's times (a check across tasks alone): the second task's stamp differs from the first's.
  const bare = (offset: number) => ({ abs, offset, length: 1_000, fileSize: 2_000, ino: scanned.ino });
  const a = hashRanges({ buffer: new ArrayBuffer(1_000), ranges: [bare(0)] });
  sleep(5);
  const fd2 = openSync(abs, 'r+');
  writeSync(fd2, seededBytes(3, 2_000), 0, 2_000, 0);
  closeSync(fd2);
  const b = hashRanges({ buffer: new ArrayBuffer(1_000), ranges: [bare(1_000)] });
  assert.is(a.failure, undefined);
  assert.is(b.failure, undefined);
  assert.is.not(a.stamps[0], b.stamps[0], 'another version: the session refuses the file');
  const c = hashRanges({ buffer: new ArrayBuffer(2_000), ranges: [bare(0), bare(1_000)] });
  assert.is(c.stamps[0], c.stamps[1], 'one version: the same stamp for every range');
});

t('hashRanges waits until a just-written file is older than the racy window before reading it', () => {
  const dir = tempDir('hr-racy');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, seededBytes(4, 100));
  const started = Date.now();
  const out = hashRanges({ buffer: new ArrayBuffer(100), ranges: [{ abs, offset: 0, length: 100, ...scanOf(abs) }] });
  assert.is(out.failure, undefined);
  assert.ok(Date.now() - started >= RACY_MS - 10, `waited ${Date.now() - started} ms`);
  const again = Date.now();
  hashRanges({ buffer: new ArrayBuffer(100), ranges: [{ abs, offset: 0, length: 100, ...scanOf(abs) }] });
  assert.ok(Date.now() - again < RACY_MS, 'an old file is read at once');
});

t('hashRanges: a file replaced by another of the same size and times is refused by its inode', () => {
  const dir = tempDir('hr-ino');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, seededBytes(5, 10));
  const scanned = scanOf(abs);
  writeFileSync(path.join(dir, 'g'), seededBytes(6, 10));
  renameSync(abs, path.join(dir, 'f-old'));
  renameSync(path.join(dir, 'g'), abs);
  const out = hashRanges({ buffer: new ArrayBuffer(10), ranges: [{ abs, offset: 0, length: 10, ...scanned }] });
  assert.is(out.failure?.code, 'CHANGED');
  assert.match(out.failure!.message, /was replaced since the scan/);
});

t('hashRanges takes the scan\'s milliseconds as Node rounds them (x.999999999 s is floored to the next ms by Stats.mtimeMs)', () => {
  const dir = tempDir('hr-ms');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, 'abc');
  execFileSync('touch', ['-m', '-d', '@1700000000.999999999', abs]);
  const scanned = scanOf(abs);
  assert.is(Math.floor(statSync(abs).mtimeMs), 1_700_000_001_000, 'Stats.mtimeMs rounded up past the exact millisecond');
  const out = hashRanges({ buffer: new ArrayBuffer(3), ranges: [{ abs, offset: 0, length: 3, ...scanned }] });
  assert.is(out.failure, undefined);
});

t('file cache: a file whose ctime differs from the parent\'s only below the millisecond is not taken as unchanged', async () => {
  const dir = tempDir('fc-ns');
  const abs = path.join(dir, 'f');
  writeFileSync(abs, 'abcdefghij');
  const st = statSync(abs, { bigint: true });
  const scanned = scanOf(abs);
  const entry: ScanEntry = {
    path: 'f', abs, type: 'file', size: 10, mode: 0o644, mtime: Number(st.mtimeNs / 1_000_000n), ino: scanned.ino,
    ctime: Number(st.ctimeNs / 1_000_000n), ctimeNs: String(st.ctimeNs),
    mtimeNanos: Number(st.mtimeNs % 1_000_000n), devIno: `${st.dev}:${st.ino}`, nlink: Number(st.nlink),
  };
  const chunks: ChunkRef[] = [['ab'.repeat(32), 10]];
  const storage = new MemoryStorage();
  let n = 0;
  const parentWith = async (ctimeNs?: string) => {
    const writer = new ManifestWriter(storage, (page) => `pages/${n++}/${page}`);
    await writer.add({ path: 'f', type: 'file', size: 10, mode: 0o644, mtime: entry.mtime, mtimeNanos: entry.mtimeNanos, ino: entry.ino, ctime: entry.ctime, chunks, ...(ctimeNs ? { ctimeNs } : {}) });
    return { pages: await writer.finish() } as BundleDescriptor;
  };
  const known = { has: () => true };
  const exact = String(st.ctimeNs);
  const sameMsOtherNs = String(st.ctimeNs % 1_000_000n === 999_999n ? st.ctimeNs - 1n : st.ctimeNs + 1n);
  assert.equal(await new ParentFiles(storage, await parentWith(exact), known).unchanged(entry), { chunks, ctimeNs: exact });
  assert.is(await new ParentFiles(storage, await parentWith(sameMsOtherNs), known).unchanged(entry), undefined);
  assert.equal(await new ParentFiles(storage, await parentWith(), known).unchanged(entry), { chunks }, 'a parent without ns: ms as before');
});

t.run();
