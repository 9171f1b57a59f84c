/**
 * The collector's merged index (IndexSnapshot.lineChunks through writeIndexLines): an index object with
 * nothing to drop is carried as its gzipped bytes, and one that cannot be carried safely — bytes after its last
 * gzip member, text that does not end a line, an entry in a dropped pack or one repeated — is encoded anew.
 * Either way the merged object holds every surviving (blob, pack, offset) exactly once.
 */
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IndexSnapshot } from '../engine/gc/index-snapshot.js';
import { readIndexObject } from '../engine/meta/blob-index.js';
import { writeIndexLines } from '../engine/meta/index-writer.js';
import { openStorage } from '../engine/storage/open.js';
import { readAll, type Storage } from '../engine/storage/storage.js';
import { type IndexEntry, keys } from '../engine/vocab.js';
import { tempDir } from './helpers.js';

const t = suite('index merge: objects carried as they are, or encoded anew');

const hash = (n: number) => n.toString(16).padStart(64, '0');
const pack = (n: number) => `${n}`.repeat(64).slice(0, 64);
const entry = (blob: number, p: number, offset = blob * 100): IndexEntry => ({ blob: hash(blob), pack: pack(p), offset, length: 100 });
const lines = (entries: IndexEntry[]) => entries.map((e) => `${JSON.stringify(e)}\n`).join('');

/** A store whose index objects hold `objects`' bytes, keyed in order. */
async function storeWith(objects: Buffer[]): Promise<{ storage: Storage; keyList: string[] }> {
  const storage = openStorage(tempDir('index-merge'));
  const keyList = objects.map((_, i) => keys.index(`0000000000000000000000000${i}`));
  for (const [i, data] of objects.entries()) await storage.put(keyList[i]!, data);
  return { storage, keyList };
}

/** The merged object's bytes and entries, after a snapshot of every index object, without the packs `gone`. */
async function merged(storage: Storage, gone: number[]): Promise<{ data: Buffer; entries: IndexEntry[] }> {
  const snapshot = new IndexSnapshot();
  await snapshot.refresh(storage);
  const before = new Set(snapshot.objectKeys);
  assert.is(await writeIndexLines(storage, snapshot.lineChunks(new Set(gone.map(pack))), 200_000), 1);
  let key = '';
  for await (const e of storage.list(keys.indexPrefix)) if (!before.has(e.key)) key = e.key;
  const entries = await readIndexObject(storage, key);
  if (!Array.isArray(entries)) throw new Error(entries.problem);
  return { data: await readAll(storage, key), entries };
}

/** Entries as sortable text, fields in one order (a line in another key order parses to the same entry). */
const sorted = (entries: IndexEntry[]) => entries.map((e) => JSON.stringify([e.blob, e.pack, e.offset, e.length, e.codec])).sort();

t('objects with nothing to drop are carried byte for byte; one naming a dropped pack is encoded anew', async () => {
  const a = gzipSync(lines([entry(1, 1), entry(2, 1)]));
  const b = gzipSync(lines([entry(3, 2), entry(4, 3)]));
  const c = gzipSync(lines([entry(5, 4), entry(6, 4)]));
  const { storage } = await storeWith([a, b, c]);
  const out = await merged(storage, [3]);
  assert.ok(out.data.includes(a), 'a carried as it is');
  assert.ok(out.data.includes(c), 'c carried as it is');
  assert.not.ok(out.data.includes(b), 'b names a dropped pack');
  assert.equal(sorted(out.entries), sorted([entry(1, 1), entry(2, 1), entry(3, 2), entry(5, 4), entry(6, 4)]));
});

t('an object with bytes after its last gzip member is encoded anew: carried, it would hide what follows it', async () => {
  // zlib reads the padded object whole and quietly stops at the zeros; in a merged object it would stop there too.
  const padded = Buffer.concat([gzipSync(lines([entry(1, 1)])), Buffer.alloc(8)]);
  const after = gzipSync(lines([entry(2, 2)]));
  const { storage } = await storeWith([padded, after, gzipSync(lines([entry(3, 3)]))]);
  const out = await merged(storage, []);
  assert.not.ok(out.data.includes(padded), 'the padded object is not carried');
  assert.equal(sorted(out.entries), sorted([entry(1, 1), entry(2, 2), entry(3, 3)]), 'every entry survives the merge');
});

t('an object whose text does not end a line is encoded anew: carried, its last line would run into the next', async () => {
  const open = gzipSync(lines([entry(1, 1), entry(2, 1)]).trimEnd());
  const { storage } = await storeWith([open, gzipSync(lines([entry(3, 3)])), gzipSync(lines([entry(4, 4)]))]);
  const out = await merged(storage, []);
  assert.not.ok(out.data.includes(open));
  assert.equal(sorted(out.entries), sorted([entry(1, 1), entry(2, 1), entry(3, 3), entry(4, 4)]));
});

t('a (blob, pack, offset) in two objects is kept once; the same blob elsewhere is kept too', async () => {
  const first = gzipSync(lines([entry(1, 1), entry(2, 1)]));
  const second = gzipSync(lines([entry(1, 1), entry(1, 2)]));
  const { storage } = await storeWith([first, second]);
  const out = await merged(storage, []);
  assert.equal(sorted(out.entries), sorted([entry(1, 1), entry(2, 1), entry(1, 2)]));
  assert.ok(out.data.includes(first) !== out.data.includes(second), 'exactly one of the two is carried');
});

t('objects in the writers\' other forms (multi-member, spaces, other key order) are carried and read back the same', async () => {
  const members = Buffer.concat([gzipSync(lines([entry(1, 1)])), gzipSync(lines([entry(2, 1)]))]);
  const spaced = gzipSync(`{ "pack": "${pack(2)}", "blob": "${hash(3)}", "length": 100, "offset": 300 }\n`);
  const { storage } = await storeWith([members, spaced]);
  const out = await merged(storage, []);
  assert.ok(out.data.includes(members) && out.data.includes(spaced));
  assert.equal(sorted(out.entries), sorted([entry(1, 1), entry(2, 1), entry(3, 2)]));
});

t.run();
