/**
 * Local disk faults through the binary: a full disk (ENOSPC, on a small tmpfs) and permission denied (EACCES,
 * as an unprivileged user) on download, an unreadable directory on upload. Needs root (mount, setpriv).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { asNobody, cli, runsIf, describeTree, listFiles, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('disk faults: ENOSPC, EACCES, unreadable directories');

const isRoot = process.getuid?.() === 0;
const canDropPrivileges = isRoot && spawnSync('setpriv', ['--version']).status === 0;
const canMount = isRoot && (() => {
  const probe = tempDir('mount-probe');
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  return ok;
})();

function openToAll(...dirs: string[]) {
  for (const dir of dirs) spawnSync('chmod', ['-R', 'a+rwX', dir]);
}

/** A store holding label `l` over: a small file, a 6 MiB file, a file after it, one in a subdirectory. */
function storeWithBundle(): { store: string; src: string } {
  const store = tempDir('disk-store');
  const src = tempDir('disk-src');
  writeFile(src, 'a-small.txt', 'small');
  writeFile(src, 'b-big.bin', seededBytes(3, 6 * 1024 * 1024));
  writeFile(src, 'c-after.txt', 'after');
  writeFile(src, 'd/e.txt', 'nested');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(up.code, 0, up.stderr);
  return { store, src };
}

/** Every file present under `dest` is complete and right; no temp file is left. */
function assertNothingPartial(dest: string, src: string) {
  const want = describeTree(src); // contents only: modes may have been opened up since
  for (const [rel, got] of describeTree(dest)) {
    assert.not.match(rel, /\.dm-(tmp-|[0-9a-z]+$)/, `temp file left: ${rel}`);
    if (got.type === 'file') assert.equal(got.sha, want.get(rel)?.sha, `${rel} is under its final name but not complete`);
  }
}

const withMounts = runsIf(t, canMount ? undefined : 'needs root and tmpfs mounts');
const withPrivileges = runsIf(t, canDropPrivileges ? undefined : 'needs root and setpriv to drop privileges');
withMounts('download onto a full disk fails with one line naming ENOSPC and the file, leaves nothing partial; a rerun with room completes', () => {
  const { store, src } = storeWithBundle();
  const disk = tempDir('disk-full');
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]).status, 0);
  try {
    const dest = path.join(disk, 'out');
    const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
    assert.is(r.code, 1, r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /ENOSPC|no space left/i);
    assert.ok(r.stderr.includes('b-big.bin'), `names the file: ${r.stderr}`);
    assertNothingPartial(dest, src);
    assert.is(spawnSync('mount', ['-o', 'remount,size=32m', disk]).status, 0);
    const again = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
    assert.is(again.code, 0, again.stderr);
    assert.equal(describeTree(dest), describeTree(src));
  } finally {
    spawnSync('umount', [disk]);
  }
});

withPrivileges('download into a directory it may not write fails with one line naming EACCES and the path, exit 1, nothing written', () => {
  const { store, src } = storeWithBundle();
  const uploaded = describeTree(src); // before the modes are opened up for nobody
  const parent = tempDir('disk-eacces');
  const dest = path.join(parent, 'out');
  mkdirSync(path.join(dest, 'd'), { recursive: true });
  openToAll(store, src, parent);
  chmodSync(path.join(dest, 'd'), 0o555); // owned by root: nobody can list it but not write into it
  const r = asNobody(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /EACCES|permission denied/i);
  assert.ok(r.stderr.includes(path.join('d', 'e.txt')) || r.stderr.includes(`${dest}/d`), r.stderr);
  assertNothingPartial(dest, src);
  spawnSync('chown', ['-R', 'nobody', dest]); // the user fixes the permissions
  chmodSync(path.join(dest, 'd'), 0o755);
  const again = asNobody(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(again.code, 0, again.stderr);
  assert.equal(describeTree(dest), uploaded);
});

withPrivileges('upload of a tree with an unreadable directory: exit 1 naming it; with --skip-on-error it is left out, reported, exit 3', () => {
  const store = tempDir('disk-unreadable-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const src = tempDir('disk-unreadable-src');
  writeFile(src, 'a.txt', 'a');
  writeFile(src, 'locked/secret.txt', 'secret');
  writeFile(src, 'z/fine.txt', 'fine');
  openToAll(store, src);
  chmodSync(path.join(src, 'locked'), 0o000);
  const before = listFiles(store);
  const r = asNobody(['--store', store, 'bundle', 'upload', src, '--repo', 'r']);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(path.join(src, 'locked')), r.stderr);
  assert.equal(listFiles(store), before, 'nothing written');
  const skip = asNobody(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--skip-on-error']);
  assert.is(skip.code, 3, skip.stderr);
  assert.match(skip.stderr, /left out of bundle [0-9A-Z]{26}: locked \(directory not listed: EACCES\)/);
  const summary = summaryOf(skip.stdout);
  assert.equal(summary.skipped.map((f: { path: string }) => f.path), ['locked']);
  const dest = path.join(tempDir('disk-unreadable-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  assert.equal(listFiles(dest), ['a.txt', 'z/fine.txt']);
  chmodSync(path.join(src, 'locked'), 0o755);
  rmSync(src, { recursive: true, force: true });
});

t.run();
