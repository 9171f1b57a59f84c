/** Content-defined chunking (FastCDC): cut properties, and an insert-shifted file deduplicated end to end. */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { downloadBundle } from '../engine/download/download.js';
import { CHUNKERS, openFormat } from '../engine/meta/format.js';
import { createRepo } from '../engine/meta/repos.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { LocalStorage } from '../engine/storage/local.js';
import type { ChunkerSpec } from '../engine/vocab.js';
import { cdcCuts } from '../workers/fastcdc.js';
import { cli, describeTree, seededBytes, tempDir, who, writeFile } from './helpers.js';

const t = suite('chunking: FastCDC');

const params = { min: 16 * 1024, avg: 64 * 1024, max: 256 * 1024 };
const chunkHashes = (data: Buffer) => {
  let at = 0;
  return cdcCuts(data, params).map((n) => createHash('sha256').update(data.subarray(at, (at += n))).digest('hex'));
};

t('cuts cover the input, stay within min..max (all but the last), average near avg, and are deterministic', () => {
  const data = seededBytes(11, 16 * 1024 * 1024);
  const cuts = cdcCuts(data, params);
  assert.is(cuts.reduce((a, b) => a + b, 0), data.length);
  for (const c of cuts.slice(0, -1)) assert.ok(c >= params.min && c <= params.max, `chunk of ${c}`);
  const mean = data.length / cuts.length;
  assert.ok(mean > params.avg * 0.7 && mean < params.avg * 1.5, `mean chunk ${mean.toFixed(0)}`);
  assert.equal(cdcCuts(data, params), cuts);
  assert.equal(cdcCuts(Buffer.alloc(1000), params), [1000], 'shorter than min: one chunk');
});

t('bytes inserted near the start move only the chunks around the insertion', () => {
  const data = seededBytes(12, 8 * 1024 * 1024);
  const shifted = Buffer.concat([data.subarray(0, 1_000_000), Buffer.from('inserted bytes'), data.subarray(1_000_000)]);
  const before = new Set(chunkHashes(data));
  const after = chunkHashes(shifted);
  const fresh = after.filter((h) => !before.has(h)).length;
  assert.ok(fresh <= 3, `${fresh} of ${after.length} chunks changed`);
});

async function storeWith(chunker: ChunkerSpec) {
  const storage = new LocalStorage(tempDir('cdc-store'));
  await openFormat(storage, true, chunker);
  await createRepo(storage, 'r', '', who);
  return storage;
}

t('end to end: an insert-shifted 48 MiB file stores < 20% new bytes with fastcdc (fixed: > 90%), round-trips byte for byte', async () => {
  const original = seededBytes(13, 48 * 1024 * 1024);
  const shifted = Buffer.concat([original.subarray(0, 3_000_000), Buffer.from('a few bytes inserted'), original.subarray(3_000_000)]);
  const newBytes: Record<string, number> = {};
  for (const kind of ['fastcdc', 'fixed'] as const) {
    const storage = await storeWith(CHUNKERS[kind]);
    const src = tempDir(`cdc-src-${kind}`);
    writeFile(src, 'data.bin', original);
    await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'l' });
    writeFile(src, 'data.bin', shifted);
    const second = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'l' });
    newBytes[kind] = second.bundle.stats.newBytes / shifted.length;
    const dest = path.join(tempDir(`cdc-dest-${kind}`), 'out');
    await downloadBundle({ storage, repo: 'r', ref: { label: 'l' }, dest, contributor: who });
    assert.equal(describeTree(dest), describeTree(src));
  }
  console.log(`  new bytes after the insert: fastcdc ${(newBytes.fastcdc! * 100).toFixed(1)}%, fixed ${(newBytes.fixed! * 100).toFixed(1)}%`);
  assert.ok(newBytes.fastcdc! < 0.2, `fastcdc stored ${newBytes.fastcdc}`);
  assert.ok(newBytes.fixed! > 0.9, `fixed stored ${newBytes.fixed}`);
});

t('--chunker: a bad kind is a usage error; a store keeps the chunker it was created with', () => {
  const store = tempDir('cdc-cli');
  const bad = cli(['--store', store, 'repo', 'create', 'r', '--chunker', 'rabin']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--chunker "rabin"/);
  assert.is(cli(['--store', store, 'repo', 'create', 'r', '--chunker', 'fastcdc']).code, 0);
  const other = cli(['--store', store, 'repo', 'create', 's', '--chunker', 'fixed']);
  assert.is(other.code, 1);
  assert.match(other.stderr, /chunks with fastcdc/);
  assert.is(cli(['--store', store, 'repo', 'create', 's']).code, 0, 'no --chunker: the store\'s own');
});

t.run();
