/**
 * The collector's index decoder and writer (engine/meta/index-lines.ts) against the general path
 * (`gunzipLines` with `indexEntry`): the same entries for every line the general path accepts, the same
 * error for every line it refuses; the encoder's lines are JSON.stringify's, and objects written by
 * `writeIndexLines` read back whole.
 */
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeIndexObject } from '../engine/meta/index-lines.js';
import { IndexLineEncoder, type LineChunk, writeIndexLines } from '../engine/meta/index-writer.js';
import { gunzipLines } from '../engine/meta/objects.js';
import { indexEntry } from '../engine/meta/validate.js';
import { openStorage } from '../engine/storage/open.js';
import { readAll } from '../engine/storage/storage.js';
import type { IndexEntry } from '../engine/vocab.js';
import { tempDir } from './helpers.js';

const t = suite('index lines: the fast decoder and the streaming writer');

const H = 'ab'.repeat(32);
const H2 = '0123456789abcdef'.repeat(4);
const PACK = 'p'.repeat(64);

/** What the decoder passes on, as IndexEntry values (codec only when zstd, as stored). */
function decoded(key: string, data: Buffer): IndexEntry[] {
  const out: IndexEntry[] = [];
  decodeIndexObject(key, data, (hash, pack, offset, length, zstd) => {
    const blob = Buffer.from(hash.buffer, hash.byteOffset, 32).toString('hex');
    out.push({ blob, pack, offset, length, ...(zstd ? { codec: 'zstd' as const } : {}) });
  });
  return out;
}

/** The fields an index entry has (a snapshot keeps no others). */
const fields = (e: IndexEntry): IndexEntry => ({ blob: e.blob, pack: e.pack, offset: e.offset, length: e.length, ...(e.codec ? { codec: e.codec } : {}) });

/** Both paths on the same text: equal entries, or the same error message. */
function same(text: string): void {
  const data = gzipSync(text);
  let want: IndexEntry[] | string;
  let got: IndexEntry[] | string;
  try { want = gunzipLines('k', data, indexEntry).map(fields); } catch (err) { want = (err as Error).message; }
  try { got = decoded('k', data); } catch (err) { got = (err as Error).message; }
  assert.equal(got, want, text);
}

t('lines as the writers write them, with and without codec, and runs of one pack', () => {
  same(`${JSON.stringify({ blob: H, pack: PACK, offset: 0, length: 4096 })}\n`);
  same([
    JSON.stringify({ blob: H, pack: PACK, offset: 0, length: 4096 }),
    JSON.stringify({ blob: H2, pack: PACK, offset: 4096, length: 17, codec: 'zstd' }),
    JSON.stringify({ blob: H, pack: 'other_pack-1', offset: 123456789012345, length: 268435456 }),
    JSON.stringify({ blob: H2, pack: PACK, offset: 9, length: 1 }),
  ].join('\n'));
});

t('lines in any other valid form take the general path and give its values', () => {
  same(`{"pack":"${PACK}","blob":"${H}","offset":0,"length":4096}\n`);
  same(`{ "blob":"${H}","pack":"${PACK}","offset":0,"length":4096}\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":0,"length":4096,"extra":1}\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":1.0,"length":4e3}\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":0,"length":4096}\r\n\n\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":1234567890123456,"length":4096}\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":0,"length":4096,"codec":"zstd","offset":5}\n`);
  same(`{"blob":"${H}","pack":"${PACK}","offset":0,"length":4096,"codec":"zstd"}`);
  same('');
});

t('damaged lines fail with the general path\'s message, naming the line', () => {
  const ok = JSON.stringify({ blob: H, pack: PACK, offset: 0, length: 4096 });
  for (const bad of [
    ok.replace(H, H.toUpperCase()), ok.replace(H, H.slice(2)), ok.replace(PACK, 'p'), ok.replace(PACK, 'p/q'),
    ok.replace('"offset":0', '"offset":-1'), ok.replace('"offset":0', '"offset":01'), ok.replace('4096', '0'),
    ok.replace('4096', '268435457'), ok.replace('}', ',"codec":"lz4"}'), ok.slice(0, -1), ' ', ok.replace('"offset":0', '"offset":99999999999999999'),
  ]) {
    same(`${ok}\n${bad}\n${ok}\n`);
  }
  let message = '';
  try { decoded('k', Buffer.from('not gzip')); } catch (err) { message = (err as Error).message; }
  assert.match(message, /^k: not valid gzip/);
});

t('the encoder writes each line as JSON.stringify of its entry, byte for byte', () => {
  const encoder = new IndexLineEncoder();
  const entries: IndexEntry[] = [
    { blob: H, pack: PACK, offset: 0, length: 4096 },
    { blob: H2, pack: 'other_pack-1', offset: 2 ** 53 - 1, length: 268435456, codec: 'zstd' },
    { blob: H, pack: 'x'.repeat(5000), offset: 7, length: 1 },
  ];
  for (const e of entries) encoder.add(Buffer.from(e.blob, 'hex'), 0, Buffer.from(e.pack), e.offset, e.length, e.codec === 'zstd');
  assert.is(encoder.entries, 3);
  const chunk = encoder.take();
  assert.is(chunk.bytes.toString(), entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
  assert.is(encoder.take().entries, 0);
});

t('writeIndexLines: objects of at most perObject entries, read back whole and in order', async () => {
  const storage = openStorage(tempDir('index-lines'));
  const entries: IndexEntry[] = Array.from({ length: 10_001 }, (_, i) => ({
    blob: i.toString(16).padStart(64, '0'), pack: `pack${i % 7}`, offset: i * 10, length: 10, ...(i % 3 ? {} : { codec: 'zstd' as const }),
  }));
  const chunks: LineChunk[] = [];
  for (let i = 0; i < entries.length; i += 1000) {
    const encoder = new IndexLineEncoder();
    for (const e of entries.slice(i, i + 1000)) encoder.add(Buffer.from(e.blob, 'hex'), 0, Buffer.from(e.pack), e.offset, e.length, e.codec === 'zstd');
    chunks.push(encoder.take());
  }
  const written = await writeIndexLines(storage, chunks, 4000);
  assert.is(written, 3);
  const back: IndexEntry[] = [];
  const objectKeys: string[] = [];
  for await (const e of storage.list('blobs/index/')) objectKeys.push(e.key);
  assert.is(objectKeys.length, 3);
  const objects = await Promise.all(objectKeys.map(async (key) => gunzipLines(key, await readAll(storage, key), indexEntry)));
  assert.equal(objects.map((o) => o.length).sort(), [2001, 4000, 4000]);
  for (const o of objects.sort((a, b) => a[0]!.offset - b[0]!.offset)) back.push(...o.map(fields));
  assert.equal(back, entries);
});

t.run();
