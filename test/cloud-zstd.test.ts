/**
 * Chunk compression against s3:// (Ceph RGW) and gs:// (GCS emulator), through the built binary: compressed
 * packs (multipart ones included) round-trip byte for byte, random chunks stay raw, fsck --read-data is clean.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { textBytes } from '../bench/text-corpus.js';
import { loadBlobIndex } from '../engine/meta/blob-index.js';
import type { Storage } from '../engine/storage/storage.js';
import { cloudEnv, freshGcs, freshS3 } from './cloud-stores.js';
import { cli, describeTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cloud: compressed (zstd) chunks on s3 and gs');

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let tree: string | undefined;
/** 24 MiB of log text (its packs stream as multipart uploads), small text files, and 6 MiB of random bytes. */
function sourceTree(): string {
  if (tree) return tree;
  tree = tempDir('cz-src');
  writeFile(tree, 'big.log', textBytes('log', 1, 24 * MiB + 5));
  for (let i = 0; i < 50; i++) writeFile(tree, `small/f${i}.json`, textBytes('json', 100 + i, 2_000 + 97 * i));
  writeFile(tree, 'random.bin', seededBytes(7, 6 * MiB));
  return tree;
}

async function roundTrip(storage: Storage) {
  const env = cloudEnv();
  const store = storage.url;
  const src = sourceTree();
  const run = (...args: string[]) => cli(['--store', store, ...args], env);
  assert.is(run('repo', 'create', 'r').code, 0);
  const up = run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'main', '--pack-size', '8MiB');
  assert.is(up.code, 0, up.stderr);
  assert.is(summaryOf(up.stdout).newBytes, 30 * MiB + 5 + Array.from({ length: 50 }, (_, i) => 2_000 + 97 * i).reduce((a, b) => a + b));

  const index = await loadBlobIndex(storage);
  const log = readFileSync(path.join(src, 'big.log'));
  const random = readFileSync(path.join(src, 'random.bin'));
  let logStored = 0;
  for (let at = 0; at + 4 * MiB <= log.length; at += 4 * MiB) {
    const loc = index.get(sha(log.subarray(at, at + 4 * MiB)))!;
    assert.is(loc.codec, 'zstd', `log chunk at ${at}`);
    logStored += loc.length;
  }
  const tail = index.get(sha(log.subarray(log.length - 5)))!;
  assert.equal([tail.codec, tail.length], [undefined, 5], 'the 5-byte tail cannot shrink: stored raw');
  assert.ok(logStored < log.length / 2, `log stored in ${logStored} bytes of ${log.length}`);
  for (let at = 0; at < random.length; at += 4 * MiB) {
    const loc = index.get(sha(random.subarray(at, at + 4 * MiB)))!;
    assert.equal([loc.codec, loc.length], [undefined, Math.min(4 * MiB, random.length - at)], 'random chunk raw at its size');
  }

  const dest = path.join(tempDir('cz-dest'), 'out');
  const down = run('bundle', 'download', dest, '--repo', 'r', '--label', 'main');
  assert.is(down.code, 0, down.stderr);
  assert.equal(describeTree(dest), describeTree(src));
  const fsck = run('fsck', '--read-data');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  const cat = run('bundle', 'cat', '--repo', 'r', 'main', 'small/f7.json');
  assert.is(sha(Buffer.from(cat.stdout, 'latin1')), sha(readFileSync(path.join(src, 'small/f7.json'))));
}

t('s3:// round trip of compressed and raw chunks is byte-identical; fsck --read-data clean', async () => {
  await roundTrip(await freshS3('zstd'));
});

t('gs:// round trip of compressed and raw chunks is byte-identical; fsck --read-data clean', async () => {
  await roundTrip(freshGcs('zstd'));
});

t.run();
