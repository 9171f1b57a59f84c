/**
 * `bundle mount` through the binary: the round-trip tree mounted equals its source (diff, modes, mtimes), a
 * damaged chunk is EIO on exactly the files using it, and the mount ends cleanly (SIGTERM, umount,
 * --done-file) with the read recorded. What reads cost (storage, memory) is mount-counting.test.ts.
 * Needs /dev/fuse and root (fuse-native mounts without fusermount's setuid helper then).
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mountServesByteNames } from '../engine/read/mount.js';
import { cli, describeTree, listFiles, makeMixedTree, runsIf, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { emptyDir, isMounted, killMounts, mount, mountSkipReason, newStore } from './mount-helpers.js';

const t = suite('bundle mount: read-only FUSE');
const why = mountSkipReason;
const test = runsIf(t, why);
/** Names that are not UTF-8 need datamover's build of the binding (native/fuse, built by npm install). */
const byteNames = runsIf(t, why ?? (mountServesByteNames() ? undefined : 'the native/fuse binding was not built (npm install): names pass as UTF-8'));

t.after(killMounts);

const errnoOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
};

test('the round-trip tree mounted: diff -r --no-dereference clean, modes, mtimes, sizes, links as stored; writes EROFS; SIGTERM unmounts, exit 0, the read log has the mount', async () => {
  const src = tempDir('mnt-src');
  makeMixedTree(src, 10_000);
  const { store, id } = newStore(src);
  const mnt = emptyDir('mnt-tree');
  const m = await mount(store, mnt, 'v1');
  const diff = spawnSync('diff', ['-r', '--no-dereference', src, mnt], { encoding: 'utf8', maxBuffer: 1 << 24 });
  assert.is(diff.status, 0, `${diff.stdout}${diff.stderr}`.slice(0, 2000));
  assert.equal(describeTree(mnt), describeTree(src));
  for (const rel of ['big/multi-chunk.bin', 'links/to-big', 'unicode/日本語', 'small/d7/f7.dat', 'empty-dir/nested-empty']) {
    const [a, b] = [lstatSync(path.join(src, rel)), lstatSync(path.join(mnt, rel))];
    assert.is(b.mode, a.mode, `${rel} mode`);
    assert.is(Math.floor(b.mtimeMs), Math.floor(a.mtimeMs), `${rel} mtime to the millisecond`);
    assert.is(b.uid, process.getuid!(), `${rel} owned by the mounting user`);
  }
  assert.is(errnoOf(() => writeFileSync(path.join(mnt, 'new.txt'), 'x')), 'EROFS');
  assert.is(errnoOf(() => writeFileSync(path.join(mnt, 'empty.txt'), 'x')), 'EROFS');
  assert.is(errnoOf(() => unlinkSync(path.join(mnt, 'empty.txt'))), 'EROFS');
  assert.is(errnoOf(() => mkdirSync(path.join(mnt, 'dir'))), 'EROFS');
  assert.is(errnoOf(() => readFileSync(path.join(mnt, 'no-such-file'))), 'ENOENT');

  const r = await m.stop('SIGTERM');
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(isMounted(mnt), 'unmounted');
  const summary = summaryOf(r.stdout);
  assert.is(summary.bundle, id);
  // Files read: the kernel never asks for the bytes of an empty file (it knows the size).
  assert.is(summary.filesOpened, listFiles(src).filter((f) => lstatSync(path.join(src, f)).isFile() && lstatSync(path.join(src, f)).size > 0).length);
  const log = cli(['--store', store, '--json', 'readlog', '--repo', 'r']);
  const records = log.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record').map((l) => l.record);
  const record = records.find((x) => x.type === 'bundle.mount');
  assert.ok(record, log.stdout);
  assert.is(record.bundle, id);
  assert.is(record.files, summary.filesOpened);
  assert.is(record.bytes, summary.bytesRead);
  assert.is(record.contributor.email, 'test@example.com');
});

test('a flipped byte in a pack: EIO on exactly the files that use the chunk (a warning naming each), every other file reads; umount ends the mount, exit 0', async () => {
  const src = tempDir('mnt-flip');
  const shared = seededBytes(1, 300_000);
  writeFile(src, 'a/victim.bin', shared);
  writeFile(src, 'b/same-content.bin', shared);
  writeFile(src, 'c/starts-the-same.bin', Buffer.concat([seededBytes(9, 4 * 1024 * 1024), shared]));
  for (let i = 0; i < 20; i++) writeFile(src, `ok/f${i}.bin`, seededBytes(100 + i, 200_000));
  const { store } = newStore(src);
  const packs = listFiles(path.join(store, 'blobs', 'packs')).map((p) => path.join(store, 'blobs', 'packs', p));
  const marker = shared.subarray(1000, 1064);
  const pack = packs.find((p) => readFileSync(p).includes(marker))!;
  const bytes = readFileSync(pack);
  bytes[bytes.indexOf(marker) + 7] ^= 0x01;
  writeFileSync(pack, bytes);

  const mnt = emptyDir('mnt-flip');
  const m = await mount(store, mnt, 'v1');
  for (const victim of ['a/victim.bin', 'b/same-content.bin']) {
    assert.is(errnoOf(() => readFileSync(path.join(mnt, victim))), 'EIO', victim);
  }
  const fd = openSync(path.join(mnt, 'c/starts-the-same.bin'), 'r');
  const head = Buffer.alloc(65536);
  assert.is(readSync(fd, head, 0, head.length, 0), head.length);
  assert.ok(head.equals(seededBytes(9, 65536)), 'the undamaged first chunk reads');
  assert.is(errnoOf(() => readSync(fd, Buffer.alloc(100), 0, 100, 4 * 1024 * 1024 + 10)), 'EIO');
  closeSync(fd);
  for (let i = 0; i < 20; i++) assert.ok(readFileSync(path.join(mnt, `ok/f${i}.bin`)).equals(seededBytes(100 + i, 200_000)), `ok/f${i}.bin`);

  assert.is(spawnSync('umount', [mnt]).status, 0);
  const r = await m.ended;
  assert.is(r.code, 0, r.stderr);
  const warned = r.stdout.split('\n').filter((l) => l.includes('"read.damaged"')).map((l) => JSON.parse(l).path);
  assert.equal([...new Set(warned)].sort(), ['a/victim.bin', 'b/same-content.bin', 'c/starts-the-same.bin']);
});

test('a mountpoint that is missing or not an empty directory: one line naming it, exit 2', () => {
  const src = tempDir('mnt-usage');
  writeFile(src, 'x', 'x');
  const { store } = newStore(src);
  const full = tempDir('mnt-full');
  writeFile(full, 'already-here', '');
  for (const [dir, problem] of [[full, 'not an empty directory'], [path.join(full, 'missing'), 'does not exist']] as const) {
    const r = cli(['--store', store, 'bundle', 'mount', dir, 'v1', '--repo', 'r']);
    assert.is(r.code, 2, r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(dir) && r.stderr.includes(problem), r.stderr);
  }
});

test('the sidecar protocol: --ready-file holds the bundle id while mounted; the --done-file ends the mount (exit 0), the ready file goes', async () => {
  const src = tempDir('mnt-sidecar');
  writeFile(src, 'data.txt', 'payload');
  const { store, id } = newStore(src);
  const shared = tempDir('mnt-shared');
  const mnt = path.join(shared, 'bundle');
  mkdirSync(mnt);
  const [ready, done] = [path.join(shared, 'ready'), path.join(shared, 'done')];
  const m = await mount(store, mnt, 'v1', ['--ready-file', ready, '--done-file', done]);
  assert.is(readFileSync(ready, 'utf8').trim(), id);
  assert.is(readFileSync(path.join(mnt, 'data.txt'), 'utf8'), 'payload');
  writeFileSync(done, '');
  const r = await m.ended;
  assert.is(r.code, 0, r.stderr);
  assert.not.ok(existsSync(ready), 'the ready file is removed at unmount');
  assert.not.ok(isMounted(mnt));
});

test('extended attributes as stored: getfattr through the mount reads the uploaded user.* attribute', async () => {
  const src = tempDir('mnt-xattr');
  writeFile(src, 'tagged.txt', 'with an attribute');
  const set = spawnSync('setfattr', ['-n', 'user.origin', '-v', 'camera-7', path.join(src, 'tagged.txt')], { encoding: 'utf8' });
  assert.is(set.status, 0, set.stderr);
  const { store } = newStore(src);
  const mnt = emptyDir('mnt-xattr');
  const m = await mount(store, mnt, 'v1');
  const get = spawnSync('getfattr', ['--only-values', '-n', 'user.origin', path.join(mnt, 'tagged.txt')], { encoding: 'utf8' });
  assert.is(get.stdout, 'camera-7', get.stderr);
  const none = spawnSync('getfattr', ['-n', 'user.absent', path.join(mnt, 'tagged.txt')], { encoding: 'utf8' });
  assert.match(none.stderr, /No such attribute/);
  assert.is((await m.stop()).code, 0);
});

/** `rel` as bytes under `root` (latin1: one byte per character), for names that are not UTF-8. */
const rawPath = (root: string, rel: string) => Buffer.from(`${root}/${rel}`, 'latin1');

byteNames('names that are not UTF-8 (Linux names are bytes): listed, looked up, read and followed byte for byte; diff -r clean', async () => {
  const src = tempDir('mnt-bytes');
  writeFileSync(rawPath(src, 'caf\xe9'), 'latin-1 name\n');
  writeFileSync(path.join(src, 'café'), 'UTF-8 name\n'); // a different name: c3 a9, not e9
  mkdirSync(rawPath(src, 'd\xff'));
  writeFileSync(rawPath(src, 'd\xff/x\x80y'), seededBytes(7, 300_000));
  symlinkSync(Buffer.from('../caf\xe9', 'latin1'), rawPath(src, 'd\xff/to-caf\xe9'));
  const { store } = newStore(src);
  const mnt = emptyDir('mnt-bytes');
  const m = await mount(store, mnt, 'v1');
  const diff = spawnSync('diff', ['-r', '--no-dereference', src, mnt], { encoding: 'utf8' });
  assert.is(diff.status, 0, `${diff.stdout}${diff.stderr}`);
  const names = (dir: string | Buffer) => readdirSync(dir, { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
  assert.equal(names(mnt), names(src));
  assert.equal(names(rawPath(mnt, 'd\xff')), names(rawPath(src, 'd\xff')));
  assert.ok(readFileSync(rawPath(mnt, 'd\xff/x\x80y')).equals(seededBytes(7, 300_000)));
  assert.is(readFileSync(rawPath(mnt, 'caf\xe9'), 'utf8'), 'latin-1 name\n');
  assert.is(readFileSync(path.join(mnt, 'café'), 'utf8'), 'UTF-8 name\n');
  assert.equal(readlinkSync(rawPath(mnt, 'd\xff/to-caf\xe9'), { encoding: 'buffer' }), Buffer.from('../caf\xe9', 'latin1'));
  assert.is(readFileSync(rawPath(mnt, 'd\xff/to-caf\xe9'), 'utf8'), 'latin-1 name\n', 'the link is followed through the mount');
  assert.is(errnoOf(() => lstatSync(rawPath(mnt, 'caf\xe8'))), 'ENOENT');
  assert.is(errnoOf(() => lstatSync(path.join(mnt, 'caf\ufffd'))), 'ENOENT', 'U+FFFD is a name of its own, not a wildcard');
  assert.is((await m.stop()).code, 0);
});

t.run();
