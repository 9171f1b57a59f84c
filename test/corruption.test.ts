/**
 * Damaged stores: a flipped byte, a truncated pack, a missing pack, a manifest page that does not match its
 * checksum. download exits 4 naming the affected files; --keep-going restores every other file; nothing damaged
 * is ever left under its final name (nor as a temp file).
 */
import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, listFiles, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('corruption: download and verify exit 4 naming the damaged files');

/** Three big files in separate packs (small --pack-size) plus small files sharing a pack. */
function setup() {
  const store = path.join(tempDir('cor'), 'store');
  const src = tempDir('cor-src');
  for (const n of [1, 2, 3]) writeFile(src, `big${n}.bin`, seededBytes(n, 1_200_000));
  for (let i = 0; i < 20; i++) writeFile(src, `small/s${i}.txt`, `small file ${i}\n`.repeat(50));
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  run('repo', 'create', 'r');
  assert.is(run('bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--pack-size', '1MiB').code, 0);
  const packs = listFiles(path.join(store, 'blobs', 'packs')).map((p) => path.join(store, 'blobs', 'packs', p));
  const packOf = (n: number) => packs.find((p) => readFileSync(p).includes(seededBytes(n, 1_200_000).subarray(5000, 5064)))!;
  return { store, src, run, packOf };
}

function leftovers(dir: string): string[] {
  return existsSync(dir) ? listFiles(dir).filter((f) => path.basename(f).startsWith('.')) : [];
}

function check(damage: (s: ReturnType<typeof setup>) => void, names: string, reason: RegExp) {
  const s = setup();
  damage(s);
  const plain = path.join(tempDir('cor-a'), 'out');
  const r = s.run('bundle', 'download', plain, '--repo', 'r', '--label', 'l');
  assert.is(r.code, 4, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes(names), `${r.stderr} names ${names}`);
  assert.match(r.stderr, reason);
  assert.not.ok(existsSync(path.join(plain, names)), 'the damaged file is not under its final name');
  assert.equal(leftovers(plain), [], 'no temp files left');
  const going = path.join(tempDir('cor-b'), 'out');
  const k = s.run('bundle', 'download', going, '--repo', 'r', '--label', 'l', '--keep-going');
  assert.is(k.code, 4, k.stderr);
  assert.ok(k.stderr.includes(names) && k.stderr.includes('other files restored'), k.stderr);
  assert.not.ok(existsSync(path.join(going, names)));
  assert.equal(leftovers(going), []);
  for (const f of listFiles(s.src)) {
    if (f === names) continue;
    assert.ok(readFileSync(path.join(going, f)).equals(readFileSync(path.join(s.src, f))), `${f} restored intact`);
  }
  const v = s.run('bundle', 'verify', '--repo', 'r', '--label', 'l');
  assert.is(v.code, 4);
  assert.ok(v.stderr.includes(names), v.stderr);
}

t('a flipped byte in a pack', () => {
  check(({ packOf }) => {
    const p = packOf(2);
    const data = readFileSync(p);
    data[data.indexOf(seededBytes(2, 1_200_000).subarray(5000, 5064)) + 10] ^= 0x10;
    writeFileSync(p, data);
  }, 'big2.bin', /does not match its hash/);
});

t('a truncated pack', () => {
  check(({ packOf }) => truncateSync(packOf(3), 1000), 'big3.bin', /truncated/);
});

t('a missing pack', () => {
  check(({ packOf }) => rmSync(packOf(1)), 'big1.bin', /missing/);
});

t('a manifest page that does not match its checksum: exit 4 naming the page, nothing written', () => {
  const { store, run } = setup();
  const pageDir = listFiles(store).find((f) => /manifest-0\.ndjson\.gz$/.test(f))!;
  const page = path.join(store, pageDir);
  const data = readFileSync(page);
  data[data.length - 3] ^= 1;
  writeFileSync(page, data);
  const dest = path.join(tempDir('cor-page'), 'out');
  const r = run('bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--keep-going');
  assert.is(r.code, 4, r.stderr);
  assert.ok(r.stderr.includes('manifest-0.ndjson.gz') && r.stderr.includes('does not match its checksum'), r.stderr);
  assert.equal(existsSync(dest) ? readdirSync(dest) : [], []);
});

t.run();
