/**
 * `bundle verify --include/--exclude` and `bundle update --include/--exclude`, through the binary: verify reads
 * only the chunks of the selected files (a damaged pack of another file does not fail it), update fetches,
 * fixes and removes only selected entries, and an include that matches nothing is exit 2 naming the pattern
 * with nothing read or changed.
 */
import { existsSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, listFiles, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('verify and update with --include/--exclude');

/** Three big files in their own packs plus small files; big2's pack has a flipped byte. */
function damagedStore() {
  const store = path.join(tempDir('svu'), 'store');
  const src = tempDir('svu-src');
  for (const n of [1, 2, 3]) writeFile(src, `big${n}.bin`, seededBytes(n, 1_200_000));
  for (let i = 0; i < 5; i++) writeFile(src, `small/s${i}.txt`, `small file ${i}\n`.repeat(50));
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  assert.is(run('bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--pack-size', '1MiB').code, 0);
  const marker = seededBytes(2, 1_200_000).subarray(5000, 5064);
  const packs = listFiles(path.join(store, 'blobs', 'packs')).map((p) => path.join(store, 'blobs', 'packs', p));
  const pack = packs.find((p) => readFileSync(p).includes(marker))!;
  const data = readFileSync(pack);
  data[data.indexOf(marker) + 10] ^= 0x10;
  writeFileSync(pack, data);
  return { run, store };
}

t('verify --include checks only the selected files: a damaged chunk elsewhere does not fail it', () => {
  const { run } = damagedStore();
  const all = run('bundle', 'verify', '--repo', 'r', '--label', 'l');
  assert.is(all.code, 4, all.stderr);
  assert.match(all.stderr, /big2\.bin/);
  const some = run('--json', 'bundle', 'verify', '--repo', 'r', '--label', 'l', '--include', 'big1.bin', '--include', 'small');
  assert.is(some.code, 0, some.stderr);
  const s = summaryOf(some.stdout);
  assert.is(s.files, 6);
  assert.is(s.bytes, 1_200_000 + 5 * 'small file 0\n'.length * 50);
  const glob = run('bundle', 'verify', '--repo', 'r', '--label', 'l', '--include', 'big*');
  assert.is(glob.code, 4, glob.stderr);
  assert.match(glob.stderr, /1 file\(s\): big2\.bin/);
  const ex = run('bundle', 'verify', '--repo', 'r', '--label', 'l', '--exclude', 'big2.bin');
  assert.is(ex.code, 0, ex.stderr);
});

t('verify --include matching nothing: exit 2 naming each such pattern, no chunk read (the damage goes unreported)', () => {
  const { run } = damagedStore();
  const r = run('bundle', 'verify', '--repo', 'r', '--label', 'l', '--include', 'nosuch', '--include', 'big2.bin', '--include', '*.nothing');
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--include "nosuch", "\*\.nothing": match no entry of bundle/);
  assert.not.match(r.stderr, /hash/);
  const log = run('--json', 'readlog', '--repo', 'r');
  assert.is(log.code, 0, log.stderr);
  const records = log.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'record').map((e) => e.record);
  const failed = records.find((r) => r.type === 'bundle.verify' && r.outcome === 'failed');
  assert.ok(failed, log.stdout);
  assert.equal(failed.filter.include, ['nosuch', 'big2.bin', '*.nothing']);
});

/**
 * Bundle A (labels a), then B (label b): a/1 and b/1 changed, a/new added, c/old and b/gone removed; `dest`
 * holds A, downloaded. `state()` is the destination as describeTree sees it.
 */
function twoBundles() {
  const store = path.join(tempDir('svu-up'), 'store');
  const src = tempDir('svu-up-src');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const up = (label: string) => {
    const r = run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', label);
    assert.is(r.code, 0, r.stderr);
    return summaryOf(r.stdout).bundle as string;
  };
  for (const f of ['a/1', 'a/2', 'b/1', 'b/2', 'b/gone', 'c/old']) writeFile(src, f, `A ${f}\n`, 0o644, 1_600_000_000);
  const a = up('a');
  for (const f of ['a/1', 'b/1', 'a/new']) writeFile(src, f, `B ${f} longer\n`, 0o644, 1_700_000_000);
  for (const f of ['c/old', 'b/gone']) rmSync(path.join(src, f));
  rmSync(path.join(src, 'c'), { recursive: true });
  const b = up('b');
  const dest = path.join(tempDir('svu-up-dest'), 'd');
  assert.is(run('bundle', 'download', dest, '--repo', 'r', '--label', 'a').code, 0);
  const update = (...args: string[]) => run('bundle', 'update', dest, '--repo', 'r', '--label', 'b', '--from', a, ...args);
  const content = (f: string) => (existsSync(path.join(dest, f)) ? readFileSync(path.join(dest, f), 'utf8') : undefined);
  return { src, dest, a, b, update, content, state: () => describeTree(dest) };
}

t('update --include fetches, fixes and removes only the selected entries; the rest stays as A had it', () => {
  const { src, dest, update, content } = twoBundles();
  const r = update('--include', 'a');
  assert.is(r.code, 0, r.stderr);
  assert.is(content('a/1'), 'B a/1 longer\n');
  assert.is(content('a/new'), 'B a/new longer\n');
  assert.is(content('b/1'), 'A b/1\n', 'not selected: left as A had it');
  assert.is(content('b/gone'), 'A b/gone\n');
  assert.is(content('c/old'), 'A c/old\n');
  // An include may name what only A has: the update then removes it.
  const gone = update('--include', 'c', '--include', 'b/gone');
  assert.is(gone.code, 0, gone.stderr);
  assert.is(content('c/old'), undefined);
  assert.not.ok(existsSync(path.join(dest, 'c')), 'the emptied directory of A went too');
  assert.is(content('b/gone'), undefined);
  assert.is(content('b/1'), 'A b/1\n');
  const ex = update('--exclude', 'a');
  assert.is(ex.code, 0, ex.stderr);
  assert.equal(describeTree(dest), describeTree(src), 'the destination is bundle B');
});

t('update --include matching nothing in either bundle: exit 2 naming it, the destination unchanged', () => {
  const { update, state } = twoBundles();
  const before = state();
  const r = update('--include', 'nosuch', '--include', 'a', '--include', 'c/ol?');
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /--include "nosuch": matches no entry of bundle [0-9A-Z]+ nor of [0-9A-Z]+/);
  assert.not.match(r.stderr, /c\/ol/);
  assert.equal(state(), before);
});

t('update --checksum --include repairs only selected files', () => {
  const { dest, update, content } = twoBundles();
  const r0 = update('--include', 'b');
  assert.is(r0.code, 0, r0.stderr);
  for (const f of ['a/2', 'b/2']) {
    const abs = path.join(dest, f);
    const st = statSync(abs);
    writeFileSync(abs, `X ${f.slice(2)}\n`.padEnd(st.size, 'x').slice(0, st.size));
    utimesSync(abs, st.atime, st.mtime);
  }
  const r = update('--checksum', '--include', 'b');
  assert.is(r.code, 0, r.stderr);
  assert.is(content('b/2'), 'A b/2\n', 'selected: repaired');
  assert.not.equal(content('a/2'), 'A a/2\n', 'not selected: left alone');
});

t.run();
