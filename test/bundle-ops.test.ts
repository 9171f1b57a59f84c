/** diff, update, verify and subset download through the built binary, with their error paths. */
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, listFiles, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cli: bundle diff, update, verify, subset download');

function setup() {
  const store = path.join(tempDir('ops'), 'store');
  const src = tempDir('ops-src');
  writeFile(src, 'keep.txt', 'same');
  writeFile(src, 'edit.txt', 'before');
  writeFile(src, 'gone/old.txt', 'bye');
  writeFile(src, 'big.bin', seededBytes(5, 300_000));
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  run('repo', 'create', 'r');
  const a = summaryOf(run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'v1').stdout).bundle as string;
  writeFileSync(path.join(src, 'edit.txt'), 'after!!');
  rmSync(path.join(src, 'gone'), { recursive: true });
  writeFile(src, 'new/file.txt', 'hello');
  const b = summaryOf(run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'v2').stdout).bundle as string;
  return { store, src, run, a, b };
}

t('diff lists added, removed and changed entries with sizes, by id or label', () => {
  const { run, a } = setup();
  const out = run('bundle', 'diff', a, 'v2', '--repo', 'r');
  assert.is(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  assert.ok(lines.includes('M\tfile\t6 -> 7\tedit.txt'), out.stdout);
  assert.ok(lines.includes('-\tfile\t3\tgone/old.txt') && lines.includes('-\tdir\t0\tgone'), out.stdout);
  assert.ok(lines.includes('+\tfile\t5\tnew/file.txt'), out.stdout);
  assert.ok(!out.stdout.includes('keep.txt') && !out.stdout.includes('big.bin'));
  assert.match(lines.at(-1)!, /^2 added \(5 bytes\), 2 removed \(3 bytes\), 1 changed$/);
  const bad = run('bundle', 'diff', a, 'not a label!', '--repo', 'r');
  assert.is(bad.code, 2);
  assert.ok(bad.stderr.includes('bundle b "not a label!"'), bad.stderr);
});

t('update brings a v1 copy to v2; a rerun changes nothing; an unknown --from label fails naming it', () => {
  const { run, src } = setup();
  const dest = path.join(tempDir('ops-dest'), 'out');
  assert.is(run('bundle', 'download', dest, '--repo', 'r', '--label', 'v1').code, 0);
  const up = run('--json', 'bundle', 'update', dest, '--repo', 'r', '--label', 'v2', '--from', 'v1');
  assert.is(up.code, 0, up.stderr);
  const summary = summaryOf(up.stdout);
  assert.is(summary.files, 2);
  assert.is(summary.removed, 2);
  assert.equal(describeTree(dest), describeTree(src));
  const missing = run('bundle', 'update', dest, '--repo', 'r', '--label', 'v2', '--from', 'v0');
  assert.is(missing.code, 1);
  assert.ok(missing.stderr.includes('label v0 not found'), missing.stderr);
});

t('verify passes on a sound bundle and exits 4 naming the file whose pack byte was flipped', () => {
  const { run, store } = setup();
  const ok = run('bundle', 'verify', '--repo', 'r', '--label', 'v1');
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /4 files, \d+ chunks/);
  for (const rel of listFiles(path.join(store, 'blobs', 'packs'))) {
    const file = path.join(store, 'blobs', 'packs', rel);
    const data = readFileSync(file);
    const at = data.indexOf(seededBytes(5, 300_000).subarray(1000, 1032));
    if (at < 0) continue;
    data[at] ^= 1;
    writeFileSync(file, data);
  }
  const bad = run('bundle', 'verify', '--repo', 'r', '--label', 'v1');
  assert.is(bad.code, 4, bad.stderr);
  assert.ok(bad.stderr.includes('big.bin') && bad.stderr.includes('does not match its hash'), bad.stderr);
  assert.is(bad.stderr.trim().split('\n').length, 1);
  assert.ok(readdirSync(path.join(store, 'readlog', 'r')).length > 0);
});

t('download --include one file writes only it; --include with an absolute path is a usage error', () => {
  const { run } = setup();
  const dest = path.join(tempDir('ops-one'), 'out');
  const r = run('bundle', 'download', dest, '--repo', 'r', '--label', 'v2', '--include', 'new/file.txt');
  assert.is(r.code, 0, r.stderr);
  assert.equal(listFiles(dest), ['new/file.txt']);
  const bad = run('bundle', 'download', dest, '--repo', 'r', '--label', 'v2', '--include', '/etc/passwd');
  assert.is(bad.code, 2);
  assert.ok(bad.stderr.includes('--include "/etc/passwd"'), bad.stderr);
});

t('fsck: a sound store passes; a flipped pack byte (--read-data), a truncated pack, a bad page and a dangling label are named, exit 4', () => {
  const { run, store, b } = setup();
  const ok = run('fsck', '--read-data');
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /no problems: 1 repos, 2 bundles, 2 labels, \d+ packs, \d+ chunks read/);
  const packs = listFiles(path.join(store, 'blobs', 'packs')).map((rel) => path.join(store, 'blobs', 'packs', rel));
  const target = packs.find((f) => readFileSync(f).includes(seededBytes(5, 300_000).subarray(0, 64)))!;
  const data = readFileSync(target);
  data[data.indexOf(seededBytes(5, 300_000).subarray(0, 64)) + 7] ^= 1;
  writeFileSync(target, data);
  assert.is(run('fsck').code, 0, 'a flipped byte needs --read-data to be seen');
  const flipped = run('fsck', '--read-data');
  assert.is(flipped.code, 4);
  assert.ok(flipped.stdout.includes('big.bin') && flipped.stdout.includes('does not match its hash'), flipped.stdout);
  writeFileSync(target, data.subarray(0, 100));
  const page = listFiles(store).find((f) => f.includes(`bundles/${b}/manifest-`))!;
  writeFileSync(path.join(store, page), 'garbage');
  const label = path.join(store, 'meta/repos/r/labels/v1.json');
  writeFileSync(label, readFileSync(label, 'utf8').replace(/"bundle":"[0-9A-Z]{26}"/, '"bundle":"01ARZ3NDEKTSV4RRFFQ69G5FAV"'));
  const broken = run('fsck');
  assert.is(broken.code, 4);
  assert.ok(broken.stdout.includes('truncated'), broken.stdout);
  assert.ok(broken.stdout.includes('does not match its checksum'), broken.stdout);
  assert.ok(broken.stdout.includes('label v1') && broken.stdout.includes('not a committed bundle'), broken.stdout);
  assert.is(broken.stderr.trim().split('\n').length, 1);
});

t.run();
