/**
 * `bundle cat` (one file to stdout, every chunk verified first; a closed stdout ends it quietly) and
 * `bundle status` (a folder against a bundle, by size/mtime or by content) through the binary (issue 17).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, openSync, readFileSync, rmSync, utimesSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadBlobIndex } from '../engine/meta/blob-index.js';
import { openStorage } from '../engine/storage/open.js';
import { keys } from '../engine/vocab.js';
import { cli, cliPath, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { manifestOf } from './session-helpers.js';
import { storeWithRepo } from './workflow-helpers.js';

const t = suite('bundle cat and bundle status');
const MiB = 1024 * 1024;
const BIG = seededBytes(7, 9 * MiB + 123);

/** A store holding bundle `base` of a small tree with a 3-chunk file; returns the store and the source. */
function fixture(): { store: string; src: string } {
  const store = storeWithRepo('cs-store');
  const src = tempDir('cs-src');
  writeFile(src, 'big.bin', BIG, 0o644, 1_600_000_000);
  writeFile(src, 'docs/a.txt', 'alpha', 0o644, 1_600_000_000);
  writeFile(src, 'docs/b.txt', 'bravo', 0o600, 1_600_000_000);
  const r = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'base']);
  assert.is(r.code, 0, r.stderr);
  return { store, src };
}

function cat(store: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, '--store', store, 'bundle', 'cat', '--repo', 'r', ...args], {
    maxBuffer: 64 * MiB, env: { ...process.env, DATAMOVER_AUTHOR: 'T <t@example.com>' },
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr.toString() };
}

t('cat writes a multi-chunk file byte for byte; a missing path, a directory are one-line errors', () => {
  const { store } = fixture();
  const r = cat(store, 'base', 'big.bin');
  assert.is(r.code, 0, r.stderr);
  assert.ok(r.stdout.equals(BIG), 'byte for byte');
  assert.is(cat(store, 'base', './docs/a.txt').stdout.toString(), 'alpha');
  const missing = cat(store, 'base', 'docs/nope.txt');
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^datamover: error: docs\/nope.txt is not in bundle \w+\n$/);
  const dir = cat(store, 'base', 'docs');
  assert.is(dir.code, 2);
  assert.match(dir.stderr, /docs is a directory/);
  const log = cli(['--store', store, '--json', 'readlog', '--repo', 'r']);
  assert.is(log.code, 0, log.stderr);
  assert.is(log.stdout.split('"bundle.cat"').length - 1, 2, 'both whole reads are in the read log');
});

t('cat of a file whose second chunk is damaged: exit 4 naming it, and stdout holds only the verified first chunk', async () => {
  const { store } = fixture();
  const entry = (await manifestOf(store, 'r', summaryOf(cli(['--store', store, '--json', 'bundle', 'get', 'base', '--repo', 'r']).stdout).bundle.id))
    .find((e) => e.path === 'big.bin')!;
  const chunkSize = entry.chunks![0]![1];
  const index = await loadBlobIndex(openStorage(store));
  const where = index.get(entry.chunks![1]![0])!;
  const fd = openSync(path.join(store, keys.pack(where.pack)), 'r+');
  writeSync(fd, Buffer.from([BIG[chunkSize + 100]! ^ 0xff]), 0, 1, where.offset + 100);
  closeSync(fd);
  const r = cat(store, 'base', 'big.bin');
  assert.is(r.code, 4, r.stderr);
  assert.match(r.stderr, /^datamover: error: big\.bin: chunk [0-9a-f]{12} does not match its hash\n$/);
  assert.ok(r.stdout.equals(BIG.subarray(0, chunkSize)), `exactly the verified first chunk (${r.stdout.length} bytes)`);
});

t('cat | head -c 10: ten bytes, exit 0, no stack trace', () => {
  const { store } = fixture();
  const out = path.join(tempDir('cs-head'), 'ten');
  const script = `"$@" | head -c 10 > "${out}"; echo "exit=\${PIPESTATUS[0]}" >&2`;
  const r = spawnSync('bash', ['-c', script, 'bash', process.execPath, cliPath, '--store', store, 'bundle', 'cat', '--repo', 'r', 'base', 'big.bin'], {
    encoding: 'utf8', env: { ...process.env, DATAMOVER_AUTHOR: 'T <t@example.com>' },
  });
  assert.is(r.stderr, 'exit=0\n', 'quiet');
  assert.ok(readFileSync(out).equals(BIG.subarray(0, 10)));
});

function status(store: string, dir: string, ...extra: string[]) {
  const r = cli(['--store', store, '--json', 'bundle', 'status', dir, 'base', '--repo', 'r', ...extra]);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { code: r.code, stderr: r.stderr, changes: lines.filter((l) => l.type === 'change').map((l) => `${l.kind} ${l.path}`), summary: lines.at(-1) };
}

t('status: untouched → exit 0; modified, added, removed, mode-only → listed, exit 5, with and without --checksum', () => {
  const { store, src } = fixture();
  for (const extra of [[], ['--checksum']]) {
    const same = status(store, src, ...extra);
    assert.is(same.code, 0, same.stderr);
    assert.equal(same.changes, []);
    assert.is(same.summary.same, true);
  }
  writeFileSync(path.join(src, 'docs/a.txt'), 'alpha, longer');
  writeFile(src, 'docs/new.txt', 'new');
  rmSync(path.join(src, 'docs/b.txt'));
  chmodSync(path.join(src, 'big.bin'), 0o600);
  const want = ['meta big.bin', 'changed docs/a.txt', 'removed docs/b.txt', 'added docs/new.txt'];
  for (const extra of [[], ['--checksum']]) {
    const r = status(store, src, ...extra);
    assert.is(r.code, 5, r.stderr);
    assert.equal(r.changes, want);
    assert.equal([r.summary.added, r.summary.removed, r.summary.changed, r.summary.meta], [1, 1, 1, 1]);
  }
  const text = cli(['--store', store, 'bundle', 'status', src, 'base', '--repo', 'r']);
  assert.is(text.code, 5);
  assert.is(text.stdout.split('\n').slice(0, 4).join('\n'), 'm\tfile\t9437307\tbig.bin\nM\tfile\t13\tdocs/a.txt\n-\tfile\t5\tdocs/b.txt\n+\tfile\t3\tdocs/new.txt');
});

t('status: a byte changed with size and mtime kept is found only with --checksum; an mtime-only change is "meta" with it', () => {
  const { store, src } = fixture();
  const big = path.join(src, 'big.bin');
  const tampered = Buffer.from(BIG);
  tampered[5 * MiB] ^= 0x01;
  writeFileSync(big, tampered);
  utimesSync(big, 1_600_000_000, 1_600_000_000);
  assert.equal(status(store, src).changes, [], 'size and mtime cannot tell');
  const deep = status(store, src, '--checksum');
  assert.is(deep.code, 5);
  assert.equal(deep.changes, ['changed big.bin']);
  writeFileSync(big, BIG);
  utimesSync(big, 1_700_000_000, 1_700_000_000);
  assert.equal(status(store, src).changes, ['changed big.bin'], 'by size and mtime: maybe changed');
  const meta = status(store, src, '--checksum');
  assert.equal(meta.changes, ['meta big.bin'], 'by content: mtime only');
  assert.is(meta.code, 5);
});

t.run();
