import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeTrailer, readTrailer, verifyListed } from '../engine/meta/pack-trailer.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type IndexEntry, keys } from '../engine/vocab.js';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, listFiles, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('pack trailer: the blob list at the end of a pack');

const pack = 'ab'.repeat(32);

/** A pack of `sizes` seeded blobs and its trailer; returns its bytes and entries. */
function packOf(sizes: number[]): { bytes: Buffer; entries: IndexEntry[] } {
  const blobs = sizes.map((n, i) => seededBytes(40 + i, n));
  let offset = 0;
  const entries = blobs.map((b) => {
    const e = { blob: createHash('sha256').update(b).digest('hex'), pack, offset, length: b.length };
    offset += b.length;
    return e;
  });
  return { bytes: Buffer.concat([...blobs, encodeTrailer(entries)]), entries };
}

t('a pack lists its blobs; each is verified against its bytes, a flipped byte is named; an old pack has none; a torn trailer is damaged', async () => {
  const s = new MemoryStorage();
  const { bytes, entries } = packOf([0, 1, 70_000, 3 * 1024 * 1024 + 5, 12]);
  await s.put(keys.pack(pack), bytes);
  const trailer = await readTrailer(s, pack, bytes.length);
  assert.is(trailer.kind, 'listed');
  if (trailer.kind !== 'listed') return;
  assert.equal(trailer.entries, entries);
  assert.equal((await verifyListed(s, pack, trailer.entries, trailer.dataEnd)).good, entries);

  const flipped = Buffer.from(bytes);
  flipped[entries[3]!.offset + 1000] ^= 1;
  await s.put(keys.pack(pack), flipped);
  const checked = await verifyListed(s, pack, entries, trailer.dataEnd);
  assert.equal(checked.bad, [entries[3]!.blob]);
  assert.is(checked.good.length, 4);

  const old = bytes.subarray(0, trailer.dataEnd);
  await s.put(keys.pack(pack), old);
  assert.is((await readTrailer(s, pack, old.length)).kind, 'none');

  const torn = Buffer.from(bytes);
  torn[trailer.dataEnd + 3] ^= 1;
  await s.put(keys.pack(pack), torn);
  assert.equal(await readTrailer(s, pack, torn.length), { kind: 'damaged', reason: 'trailer checksum mismatch' });
  assert.is((await readTrailer(s, 'cd'.repeat(32), 100)).kind, 'missing');
});

t('fsck --read-data checks every pack trailer: a damaged one, or one that disagrees with the index, is named (exit 4)', () => {
  const root = tempDir('trailer-fsck');
  const store = path.join(root, 'store');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  writeFile(path.join(root, 'src'), 'a.bin', seededBytes(3, 200_000));
  writeFile(path.join(root, 'src'), 'b.bin', seededBytes(4, 5_000));
  assert.is(run('--quiet', 'bundle', 'upload', path.join(root, 'src'), '--repo', 'r', '--label', 'l').code, 0);
  const packFile = path.join(store, 'blobs', 'packs', listFiles(path.join(store, 'blobs', 'packs'))[0]!);
  const packId = path.basename(packFile);
  const good = readFileSync(packFile);
  assert.is(run('fsck', '--read-data').code, 0);

  const torn = Buffer.from(good);
  torn[torn.length - 20] ^= 1; // inside the trailer's entries: blobs and index untouched
  writeFileSync(packFile, torn);
  const tornCheck = run('fsck', '--read-data');
  assert.is(tornCheck.code, 4, tornCheck.stdout + tornCheck.stderr);
  assert.ok(tornCheck.stdout.includes(packId.slice(0, 12)) && tornCheck.stdout.includes('trailer checksum mismatch'), tornCheck.stdout);

  // A trailer that is sound in itself but lists a blob at another offset than the index does.
  const listed = good.readUInt32BE(good.length - 8);
  const entriesStart = good.length - 16 - listed * 44;
  const entries = Array.from({ length: listed }, (_, i) => ({
    blob: good.subarray(entriesStart + i * 44, entriesStart + i * 44 + 32).toString('hex'), pack: packId,
    offset: Number(good.readBigUInt64BE(entriesStart + i * 44 + 32)), length: good.readUInt32BE(entriesStart + i * 44 + 40),
  }));
  entries[0] = { ...entries[0]!, offset: entries[0]!.offset + 1 };
  writeFileSync(packFile, Buffer.concat([good.subarray(0, entriesStart), encodeTrailer(entries)]));
  const wrong = run('fsck', '--read-data');
  assert.is(wrong.code, 4, wrong.stdout + wrong.stderr);
  assert.ok(wrong.stdout.includes(packId.slice(0, 12)) && wrong.stdout.includes(entries[0]!.blob.slice(0, 12)), wrong.stdout);
});

t.run();
