import { createHash } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeTrailer, readTrailer, verifyListed } from '../engine/meta/pack-trailer.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type IndexEntry, keys } from '../engine/vocab.js';
import { seededBytes } from './helpers.js';

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

t.run();
