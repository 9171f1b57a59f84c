/**
 * Found by an adversarial pass over issue 13's fixes, each through the binary: times past 2262 (beyond int64
 * nanoseconds) restore; stdout that fails for another reason than a closed pipe fails the command naming it,
 * after the work; fsck and verify lines name files quoted, one problem a line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, lstatSync, openSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, tempDir, writeFile } from './helpers.js';

const t = suite('review fixes: far-future times, failing stdout, quoted fsck and verify lines');

function storeWithRepo(): string {
  const store = tempDir('rf-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  return store;
}

t('a file with an mtime after 2262 uploads, verifies and downloads with its time (to the second at least)', () => {
  const store = storeWithRepo();
  const src = tempDir('rf-src');
  writeFile(src, 'a', 'far future');
  writeFile(src, 'b', 'present');
  execFileSync('touch', ['-d', '2300-01-01T00:00:00.5Z', path.join(src, 'a')]);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'verify', '--repo', 'r', '--label', 'l']).code, 0);
  const dest = path.join(tempDir('rf-dest'), 'out');
  const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(down.code, 0, down.stderr);
  assert.is(readFileSync(path.join(dest, 'a'), 'utf8'), 'far future');
  assert.is(readFileSync(path.join(dest, 'b'), 'utf8'), 'present');
  const want = lstatSync(path.join(src, 'a'), { bigint: true }).mtimeNs / 1_000_000_000n;
  assert.is(lstatSync(path.join(dest, 'a'), { bigint: true }).mtimeNs / 1_000_000_000n, want);
});

t('stdout on a full device (/dev/full): the upload commits, then the command fails naming standard output', async () => {
  const store = storeWithRepo();
  const src = tempDir('rf-src');
  for (let i = 0; i < 50; i++) writeFile(src, `f${i}`, `file ${i}`);
  const full = openSync('/dev/full', 'w');
  const child = spawn(process.execPath, [cliPath, '--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'], {
    stdio: ['ignore', full, 'pipe'], env: { ...process.env, DATAMOVER_AUTHOR: 'Test <t@example.com>' },
  });
  closeSync(full);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.is(code, 1, stderr);
  assert.is(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /standard output: ENOSPC/);
  assert.is(cli(['--store', store, 'label', 'get', 'l', '--repo', 'r']).code, 0, 'the work was done');
});

t('fsck and verify name damaged files quoted: one line a problem, bytes that are not UTF-8 as \\xHH', () => {
  const store = storeWithRepo();
  const src = tempDir('rf-src');
  writeFileSync(path.join(src, 'x\ny'), 'unique content A');
  writeFileSync(Buffer.from(`${src}/caf\xe9`, 'latin1'), 'unique content B');
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']).code, 0);
  const packsDir = path.join(store, 'blobs', 'packs');
  for (const sub of readdirSync(packsDir)) {
    for (const pack of readdirSync(path.join(packsDir, sub))) {
      const abs = path.join(packsDir, sub, pack);
      const data = readFileSync(abs);
      data[0] ^= 0xff; // the first blob's first byte
      data[20] ^= 0xff;
      writeFileSync(abs, data);
    }
  }
  const fsck = cli(['--store', store, 'fsck', '--read-data']);
  assert.is(fsck.code, 4, fsck.stderr);
  const problems = fsck.stdout.trim().split('\n').filter((l) => !l.startsWith('note'));
  assert.ok(problems.length >= 1 && problems.every((l) => l.startsWith('problem\t')), fsck.stdout);
  assert.ok(!fsck.stdout.includes('\uFFFD'), 'no replacement character');
  const verify = cli(['--store', store, 'bundle', 'verify', '--repo', 'r', '--label', 'l']);
  assert.is(verify.code, 4);
  assert.is(verify.stderr.trim().split('\n').length, 1, verify.stderr);
  assert.ok(verify.stderr.includes('x\\ny') || verify.stderr.includes('caf\\xE9'), verify.stderr);
});

t('copy into a local mirror whose directory was replaced by a symlink refuses it by name and writes nothing outside', () => {
  const store = storeWithRepo();
  const src = tempDir('rf-src');
  writeFile(src, 'a', 'a');
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r']).code, 0);
  const mirror = path.join(tempDir('rf-mirror'), 'm');
  assert.is(cli(['copy', store, mirror]).code, 0);
  const outside = tempDir('rf-outside');
  rmSync(path.join(mirror, 'wal'), { recursive: true });
  symlinkSync(outside, path.join(mirror, 'wal'));
  const again = cli(['copy', store, mirror]);
  assert.is(again.code, 1, again.stderr);
  assert.match(again.stderr, /symlink/);
  assert.is(again.stderr.trim().split('\n').length, 1, again.stderr);
  assert.equal(readdirSync(outside), [], 'nothing written through the link');
});

t.run();
