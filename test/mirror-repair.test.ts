/**
 * `bundle download --delete` (mirror; never outside the destination; links removed as links) and
 * `bundle update --checksum` (repairs a tampered copy) round trips through the binary (issue 17).
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { snapshot, storeWithRepo } from './workflow-helpers.js';

const t = suite('download --delete and update --checksum');
const MiB = 1024 * 1024;

function fixture(): { store: string; src: string } {
  const store = storeWithRepo('mr-store');
  const src = tempDir('mr-src');
  writeFile(src, 'big.bin', seededBytes(3, 5 * MiB + 7), 0o644, 1_600_000_000);
  writeFile(src, 'sub/a.txt', 'alpha', 0o644, 1_600_000_000);
  writeFile(src, 'sub/deeper/b.txt', 'bravo', 0o644, 1_600_000_000);
  writeFile(src, 'sub/empty.txt', '', 0o644, 1_600_000_000);
  symlinkSync('a.txt', path.join(src, 'sub/link'));
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'base']).code, 0);
  return { store, src };
}

/** A directory outside every destination, with a file in it: must never be touched. */
function outside(): string {
  const dir = tempDir('mr-outside');
  writeFile(dir, 'precious.txt', 'do not remove');
  mkdirSync(path.join(dir, 'inner'));
  writeFile(dir, 'inner/also.txt', 'nor this');
  return dir;
}

const download = (store: string, dest: string, ...extra: string[]) =>
  cli(['--store', store, '--json', 'bundle', 'download', dest, '--repo', 'r', '--label', 'base', ...extra]);

t('download --delete removes extra files, dirs and links (as links: their outside targets untouched); the result equals the bundle', () => {
  const { store, src } = fixture();
  const dest = path.join(tempDir('mr-dest'), 'out');
  assert.is(download(store, dest).code, 0);
  const out = outside();
  const before = snapshot(out);
  writeFile(dest, 'extra.txt', 'x');
  writeFile(dest, 'sub/deeper/extra2.txt', 'y');
  writeFile(dest, 'newdir/x/y.txt', 'z');
  symlinkSync(out, path.join(dest, 'out-link'));
  symlinkSync(path.join(out, 'precious.txt'), path.join(dest, 'sub/file-link'));
  symlinkSync(out, path.join(dest, 'newdir/dir-link'));
  writeFile(dest, 'keep-me.log', 'kept by --exclude');
  const r = download(store, dest, '--delete', '--exclude', 'keep-me.log');
  assert.is(r.code, 0, r.stderr);
  const removed = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'mirror.removed').map((e) => `${e.entryType} ${e.path}`);
  assert.equal(removed.sort(), ['dir newdir', 'dir newdir/x', 'file extra.txt', 'file newdir/x/y.txt', 'file sub/deeper/extra2.txt', 'symlink newdir/dir-link', 'symlink out-link', 'symlink sub/file-link'].sort());
  assert.is(summaryOf(r.stdout).deleted, 8);
  assert.equal(snapshot(out), before, 'nothing outside the destination changed');
  assert.ok(existsSync(path.join(dest, 'keep-me.log')), 'an excluded path is never removed');
  rmSync(path.join(dest, 'keep-me.log'));
  assert.equal(describeTree(dest), describeTree(src));
  const again = download(store, dest, '--delete');
  assert.is(summaryOf(again.stdout).deleted, 0, 'a mirrored destination has nothing to remove');
});

t('download --delete into a destination whose directory was swapped for a link outside: refused, nothing outside touched', () => {
  const { store } = fixture();
  const dest = path.join(tempDir('mr-dest'), 'out');
  assert.is(download(store, dest).code, 0);
  const out = outside();
  writeFile(out, 'a.txt', 'outside a');
  const before = snapshot(out);
  rmSync(path.join(dest, 'sub'), { recursive: true });
  symlinkSync(out, path.join(dest, 'sub'));
  const r = download(store, dest, '--delete');
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /sub in the destination is a symlink/);
  assert.equal(snapshot(out), before, 'nothing outside the destination changed');
  assert.ok(lstatSync(path.join(dest, 'sub')).isSymbolicLink());
});

t('update --checksum rewrites a file tampered with (size and mtime kept) and a missing one; without it neither is seen', () => {
  const { store, src } = fixture();
  const dest = path.join(tempDir('mr-dest'), 'out');
  assert.is(download(store, dest).code, 0);
  const big = path.join(dest, 'big.bin');
  const bytes = readFileSync(big);
  bytes[3 * MiB] ^= 0x55;
  writeFileSync(big, bytes);
  utimesSync(big, 1_600_000_000, 1_600_000_000);
  rmSync(path.join(dest, 'sub/deeper/b.txt'));
  const update = (...extra: string[]) => cli(['--store', store, '--json', 'bundle', 'update', dest, '--repo', 'r', '--from', 'base', '--label', 'base', ...extra]);
  const plain = update();
  assert.is(plain.code, 0, plain.stderr);
  assert.is(summaryOf(plain.stdout).files, 0, 'size and mtime match: nothing fetched');
  assert.not.equal(describeTree(dest), describeTree(src));
  const deep = update('--checksum');
  assert.is(deep.code, 0, deep.stderr);
  assert.is(summaryOf(deep.stdout).files, 2, 'the tampered and the missing file');
  assert.equal(describeTree(dest), describeTree(src));
  assert.is(summaryOf(update('--checksum').stdout).files, 0, 'a repaired copy needs nothing');
});

t.run();
