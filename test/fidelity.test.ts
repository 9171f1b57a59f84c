/**
 * Metadata fidelity through the binary: mtimes before 1970 and to the nanosecond, hard-link groups and sparse
 * files round-trip, and a rerun of the download onto the restored tree rewrites nothing. Extended attributes and
 * ACLs round-trip when the optional package is installed; a destination that refuses them gets warnings.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, openSync, closeSync, symlinkSync, writeSync, ftruncateSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { writeXattrs } from '../workers/xattr-io.js';
import { cli, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('fidelity: times, hard links, sparse files');

const MiB = 1024 * 1024;

/** Sets a time with nanoseconds (and before 1970) through coreutils, never following a link. */
function touchNs(abs: string, at: string): void {
  execFileSync('touch', ['-h', '-d', `@${at}`, abs]);
}

function mtimeNs(abs: string): bigint {
  return lstatSync(abs, { bigint: true }).mtimeNs;
}

/** What the restore can set without the native helper: the time truncated to the microsecond (toward -inf). */
function toMicro(ns: bigint): bigint {
  const q = 1000n;
  return ns >= 0n ? (ns / q) * q : -((-ns + q - 1n) / q) * q;
}

const hasNsHelper = (() => {
  try {
    createRequire(import.meta.url)('datamover-utimens');
    return true;
  } catch {
    return false;
  }
})();

/** Checks a restored time: exact with the native helper (datamover-utimens), else to the microsecond. */
function assertRestoredTime(got: bigint, want: bigint, what: string): void {
  assert.is(got, hasNsHelper ? want : toMicro(want), `${what}: restored ${got}, source ${want}`);
}

const times: Record<string, string> = {
  'old.txt': '-86400.123456789', 'ns.txt': '1767225600.123456789', 'neg-sub.txt': '-0.000000001',
  'd/inner.txt': '1234567890.000000999', 'd': '-5000.25', 'link': '-123.456789',
};

function makeTree(src: string): void {
  writeFile(src, 'old.txt', 'before the epoch');
  writeFile(src, 'ns.txt', 'nanoseconds');
  writeFile(src, 'neg-sub.txt', 'one ns before the epoch');
  writeFile(src, 'd/inner.txt', 'inner');
  symlinkSync('old.txt', path.join(src, 'link'));
  writeFile(src, 'h1', seededBytes(1, 100_000));
  mkdirSync(path.join(src, 'e'));
  linkSync(path.join(src, 'h1'), path.join(src, 'e/h2'));
  linkSync(path.join(src, 'h1'), path.join(src, 'h3'));
  writeFile(src, 'g1', 'second group');
  linkSync(path.join(src, 'g1'), path.join(src, 'g2'));
  // 12 MiB: a hole, 4 MiB of data, a hole (4 MiB chunks: two of the three are all zeros).
  const fd = openSync(path.join(src, 'sparse.bin'), 'w');
  writeSync(fd, seededBytes(2, 4 * MiB), 0, 4 * MiB, 4 * MiB);
  ftruncateSync(fd, 12 * MiB);
  closeSync(fd);
  for (const [rel, at] of Object.entries(times)) touchNs(path.join(src, rel), at);
}

function roundTrip() {
  const src = tempDir('fid-src');
  makeTree(src);
  const store = tempDir('fid-store');
  const env = { DATAMOVER_STORE: store };
  assert.is(cli(['repo', 'create', 'r'], env).code, 0);
  const up = cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(up.code, 0, up.stderr);
  const dest = path.join(tempDir('fid-dest'), 'out');
  const down = cli(['bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(down.code, 0, down.stderr);
  return { src, dest, env };
}

t(`mtimes before 1970 and with nanoseconds: recorded exactly, restored ${hasNsHelper ? 'exactly' : 'to the microsecond (datamover-utimens not built)'}`, () => {
  const { src, dest, env } = roundTrip();
  const files = cli(['bundle', 'files', '--repo', 'r', '--label', 'l', '--json'], env);
  const entries = new Map(files.stdout.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l).entry).map((e) => [e.path, e]));
  for (const rel of Object.keys(times)) {
    const want = mtimeNs(path.join(src, rel));
    const e = entries.get(rel)!;
    // The manifest: mtime in ms (floor, negative before 1970) and the nanoseconds within that millisecond.
    assert.is(BigInt(e.mtime) * 1_000_000n + BigInt(e.mtimeNanos ?? 0), want, `${rel}: manifest records the ns`);
    assertRestoredTime(mtimeNs(path.join(dest, rel)), want, rel);
  }
});

t('hard links come back as hard links (one inode per group); sparse files keep their holes', () => {
  const { src, dest } = roundTrip();
  const h = ['h1', 'e/h2', 'h3'].map((rel) => lstatSync(path.join(dest, rel)));
  assert.ok(h.every((s) => s.ino === h[0]!.ino), 'h1, e/h2, h3 share an inode');
  assert.is(h[0]!.nlink, 3);
  const g = ['g1', 'g2'].map((rel) => lstatSync(path.join(dest, rel)));
  assert.is(g[0]!.ino, g[1]!.ino);
  assert.is(g[0]!.nlink, 2);
  assert.is.not(g[0]!.ino, h[0]!.ino);
  assert.is(lstatSync(path.join(dest, 'old.txt')).nlink, 1);
  const source = lstatSync(path.join(src, 'sparse.bin'));
  const restored = lstatSync(path.join(dest, 'sparse.bin'));
  assert.is(restored.size, 12 * MiB);
  assert.ok(source.blocks * 512 <= 5 * MiB, `the source is sparse here (${source.blocks} blocks)`);
  assert.ok(restored.blocks * 512 <= 5 * MiB, `restored sparse: ${restored.blocks} blocks of 512 bytes`);
  execFileSync('cmp', [path.join(src, 'sparse.bin'), path.join(dest, 'sparse.bin')]);
  execFileSync('diff', ['-r', '--no-dereference', src, dest]);
});

t('a rerun of the download onto the restored tree rewrites nothing and keeps links and times', () => {
  const { src, dest, env } = roundTrip();
  const before = new Map(['h1', 'e/h2', 'ns.txt', 'old.txt', 'sparse.bin'].map((rel) => [rel, lstatSync(path.join(dest, rel), { bigint: true })]));
  const again = cli(['bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(again.code, 0, again.stderr);
  const summary = summaryOf(again.stdout);
  assert.is(summary.files, 0, `nothing rewritten: ${again.stdout.split('\n').at(-2)}`);
  for (const [rel, st] of before) {
    const now = lstatSync(path.join(dest, rel), { bigint: true });
    assert.is(now.ino, st.ino, `${rel} not replaced`);
    assert.is(now.mtimeNs, st.mtimeNs, `${rel} keeps its mtime`);
  }
  assertRestoredTime(mtimeNs(path.join(dest, 'd')), mtimeNs(path.join(src, 'd')), 'd');
});

t('a second upload takes every file from the file cache (ns mtimes compare equal); bundle update keeps links, times and holes', () => {
  const { src, env } = roundTrip();
  const again = cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(again.code, 0, again.stderr);
  const summary = summaryOf(again.stdout);
  assert.is(summary.unchangedBytes, summary.bytes, 'every file unchanged since the parent');
  // v2: one more member in the h group, a new ns time, a file rewritten; update a v1 restore to it.
  const dest = path.join(tempDir('fid-upd'), 'out');
  assert.is(cli(['bundle', 'download', dest, '--repo', 'r', '--label', 'l'], env).code, 0);
  linkSync(path.join(src, 'h1'), path.join(src, 'h4'));
  writeFile(src, 'g1', 'second group, rewritten');
  touchNs(path.join(src, 'ns.txt'), '1767225600.987654321');
  touchNs(path.join(src, 'g1'), '-1.000001');
  assert.is(cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'v2'], env).code, 0);
  const up = cli(['bundle', 'update', dest, '--repo', 'r', '--label', 'v2', '--from', 'l'], env);
  assert.is(up.code, 0, up.stderr);
  execFileSync('diff', ['-r', '--no-dereference', src, dest]);
  const h = ['h1', 'e/h2', 'h3', 'h4'].map((rel) => lstatSync(path.join(dest, rel)));
  assert.ok(h.every((st) => st.ino === h[0]!.ino && st.nlink === 4), 'the h group is one inode of 4 links');
  assert.is(lstatSync(path.join(dest, 'g1')).ino, lstatSync(path.join(dest, 'g2')).ino);
  for (const rel of ['ns.txt', 'g1', 'old.txt']) assertRestoredTime(mtimeNs(path.join(dest, rel)), mtimeNs(path.join(src, rel)), rel);
  assert.ok(lstatSync(path.join(dest, 'sparse.bin')).blocks * 512 <= 5 * MiB);
});

t('restore sets only user.* attributes and ACLs: a crafted manifest cannot set security.* or trusted.*', () => {
  const set: string[] = [];
  const io = { listAttributesSync: () => [], getAttributeSync: () => null, setAttributeSync: (_p: string, name: string) => { set.push(name); } };
  const failures = writeXattrs(io, '/nonexistent', {
    'security.capability': 'AQAAAgAgAAAAAAAAAAAAAAAAAAA=', 'trusted.x': 'eA==', 'user.ok': 'eA==', 'system.posix_acl_access': 'AgAAAA==',
  });
  assert.equal(set, ['user.ok', 'system.posix_acl_access']);
  assert.equal(failures.map((f) => f.name), ['security.capability', 'trusted.x']);
});

/** Runs `fn` as a test when `reason` is undefined, else counts it as skipped and prints why. */
function testIf(name: string, reason: string | undefined, fn: () => void): void {
  if (reason === undefined) return t(name, fn);
  console.log(`  SKIPPED: ${name}: ${reason}`);
  t.skip(name, fn);
}

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const noTools = ['setfattr', 'getfattr', 'setfacl', 'getfacl'].every(has) ? undefined : 'setfattr/getfattr/setfacl/getfacl missing (apt-get install attr acl)';
const hasPackage = (() => {
  try {
    createRequire(import.meta.url)('@napi-rs/xattr');
    return true;
  } catch {
    return false;
  }
})();
const noPackage = hasPackage ? undefined : 'the optional package @napi-rs/xattr is not installed';
const isRoot = process.getuid?.() === 0;

function xattrTree(): string {
  const src = tempDir('fid-xsrc');
  writeFile(src, 'x.txt', 'with attributes');
  writeFile(src, 'xd/inner.txt', 'inherits a default ACL');
  writeFile(src, 'plain.txt', 'none');
  execFileSync('setfattr', ['-n', 'user.bin', '-v', '0x00ff10', path.join(src, 'x.txt')]);
  execFileSync('setfattr', ['-n', 'user.text', '-v', 'hello', path.join(src, 'x.txt')]);
  execFileSync('setfacl', ['-m', 'u:65534:r', path.join(src, 'x.txt')]);
  execFileSync('setfacl', ['-m', 'd:u:65534:rx,u:65534:rx', path.join(src, 'xd')]);
  execFileSync('setfattr', ['-n', 'user.dir', '-v', 'd', path.join(src, 'xd')]);
  return src;
}

/** Every recorded attribute of the tree, as getfattr dumps them (hex values, relative paths, sorted). */
function dumpXattrs(root: string): string {
  return execFileSync('getfattr', ['-R', '-d', '-e', 'hex', '-m', '^(user\\.|system\\.posix_acl)', '.'], { cwd: root, encoding: 'utf8' });
}

function uploadAndDownload(src: string, dest: string) {
  const env = { DATAMOVER_STORE: tempDir('fid-xstore') };
  assert.is(cli(['repo', 'create', 'r'], env).code, 0);
  const up = cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'l'], env);
  assert.is(up.code, 0, up.stderr);
  const down = cli(['bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--json'], env);
  return { env, up, down };
}

testIf('extended attributes (user.*) and POSIX ACLs round-trip exactly; a rerun rewrites nothing', noTools ?? noPackage, () => {
  const src = xattrTree();
  const dest = path.join(tempDir('fid-xdest'), 'out');
  const { env, down } = uploadAndDownload(src, dest);
  assert.is(down.code, 0, down.stderr);
  const dump = dumpXattrs(src);
  assert.ok(dump.includes('user.bin=0x00ff10') && dump.includes('system.posix_acl_default'), dump);
  assert.is(dumpXattrs(dest), dump);
  const acls = (root: string) => execFileSync('getfacl', ['-R', 'x.txt', 'xd', 'plain.txt'], { cwd: root, encoding: 'utf8' });
  assert.is(acls(dest), acls(src));
  assert.not.ok(down.stdout.includes('xattr.warning'), down.stdout);
  const again = cli(['bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(summaryOf(again.stdout).files, 0);
  assert.is(dumpXattrs(dest), dump);
});

testIf('an unchanged rerun takes each file\'s attributes from the parent bundle; a changed attribute (new ctime) is read again', noTools ?? noPackage, () => {
  const src = xattrTree();
  const { env } = uploadAndDownload(src, path.join(tempDir('fid-xdest'), 'out'));
  const rerun = cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--json'], env);
  assert.is(rerun.code, 0, rerun.stderr);
  const summary = summaryOf(rerun.stdout);
  assert.is(summary.unchangedBytes, summary.bytes, 'every file from the file cache');
  const restoredAs = (label: string) => {
    const dest = path.join(tempDir('fid-xrerun'), 'out');
    const down = cli(['bundle', 'download', dest, '--repo', 'r', '--label', label], env);
    assert.is(down.code, 0, down.stderr);
    return dumpXattrs(dest);
  };
  assert.is(restoredAs('l'), dumpXattrs(src), 'the rerun\'s bundle keeps every attribute');
  execFileSync('setfattr', ['-n', 'user.text', '-v', 'changed', path.join(src, 'x.txt')]);
  execFileSync('setfattr', ['-x', 'user.bin', path.join(src, 'x.txt')]);
  assert.is(cli(['bundle', 'upload', src, '--repo', 'r', '--label', 'l'], env).code, 0);
  const dump = restoredAs('l');
  assert.is(dump, dumpXattrs(src));
  assert.ok(dump.includes('user.text=0x6368616e676564') && !dump.includes('user.bin'), dump);
});

testIf('a destination that refuses extended attributes (ramfs): data restored, exit 0, each refusal a warning', noTools ?? noPackage ?? (isRoot ? undefined : 'mounting ramfs needs root'), () => {
  const src = xattrTree();
  const mnt = tempDir('fid-ramfs');
  const mounted = spawnSync('mount', ['-t', 'ramfs', 'ramfs', mnt]);
  assert.is(mounted.status, 0, `mount ramfs: ${mounted.stderr}`);
  try {
    const dest = path.join(mnt, 'out');
    const { down } = uploadAndDownload(src, dest);
    assert.is(down.code, 0, down.stderr);
    const warned = down.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'xattr.warning').map((e) => e.path);
    assert.equal(warned.sort(), ['x.txt', 'xd'], down.stdout);
    assert.is(summaryOf(down.stdout).xattrWarnings, 2);
    execFileSync('diff', ['-r', src, dest]);
  } finally {
    spawnSync('umount', [mnt]);
  }
});

testIf('without the optional xattr package, an upload says (an event) that no attributes were recorded', noTools ?? (hasPackage ? 'the optional package is installed (the round trip runs instead)' : undefined), () => {
  const src = xattrTree();
  const env = { DATAMOVER_STORE: tempDir('fid-xstore') };
  assert.is(cli(['repo', 'create', 'r'], env).code, 0);
  const up = cli(['bundle', 'upload', src, '--repo', 'r', '--json'], env);
  assert.is(up.code, 0, up.stderr);
  assert.match(up.stdout, /"type":"xattr.unavailable","reason":"extended attributes and ACLs are not recorded: the optional package @napi-rs\/xattr is not installed"/);
});

t.run();
