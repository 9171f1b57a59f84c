/**
 * The collector's page scanner (engine/meta/page-chunks.ts) against the reader's path (`gunzipLines` with
 * `manifestEntry`): for every line the reader accepts, exactly its chunk hashes; for every line it refuses,
 * the same error or (a line the scanner reads in the writers' form) only hashes the line spells out — more
 * kept, never one missed. And the compact set's claims: what a mark builds before it has read the index.
 */
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CompactBlobIndex } from '../engine/meta/compact-index.js';
import { gunzipLines } from '../engine/meta/objects.js';
import { forEachPageChunk } from '../engine/meta/page-chunks.js';
import { manifestEntry } from '../engine/meta/validate.js';
import type { FileEntry } from '../engine/vocab.js';
import { rng } from './helpers.js';

const t = suite('page chunks: the collector\'s scanner and the reader agree');

const hashOf = (n: number) => n.toString(16).padStart(8, '0').repeat(8);
const H1 = hashOf(1);
const H2 = hashOf(2);

async function scanned(text: string): Promise<string[] | string> {
  const out: string[] = [];
  try {
    await forEachPageChunk('p', gzipSync(text), (w) => out.push(Buffer.from(w.buffer, w.byteOffset, 32).toString('hex')));
  } catch (err) {
    return (err as Error).message;
  }
  return out;
}

function read(text: string): string[] | string {
  try {
    return gunzipLines('p', gzipSync(text), manifestEntry).flatMap((e) => (e.chunks ?? []).map(([h]) => h));
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Accepted by the reader: the same hashes. Refused: the page refused too (INTEGRITY naming it; the scanner may
 * pass a damaged line in the writers' form and name a later one), or hashes all spelled out in the text.
 */
async function agree(text: string): Promise<void> {
  const want = read(text);
  const got = await scanned(text);
  if (typeof want !== 'string') return assert.equal(got, want, text);
  if (typeof got === 'string') return assert.ok(got === want || got.startsWith('p: line '), `${text}: ${got} / ${want}`);
  for (const h of got) assert.ok(text.includes(h), `${text}: passed on ${h}, which the line does not spell`);
}

const file = (path: string, chunks: [string, number][], extra: Partial<FileEntry> = {}) => JSON.stringify({
  path, type: 'file', size: chunks.reduce((s, [, n]) => s + n, 0), mode: 0o644, mtime: 1_700_000_000_000, mtimeNanos: 5, chunks, ...extra,
});

t('lines in the writers\' form: every hash, in order, repeats included; dirs and symlinks have none', async () => {
  const lines = [
    file('a', [[H1, 10], [H2, 20], [H1, 10]]),
    file('b', []),
    JSON.stringify({ path: 'd', type: 'dir', size: 0, mode: 0o755, mtime: 1 }),
    JSON.stringify({ path: 'l', type: 'symlink', size: 1, mode: 0o777, mtime: 1, target: 'a' }),
    file('x', [[H2, 7]], { ino: 5, ctime: 2, ctimeNs: '2000000', xattrs: { 'user.k': 'dg==' } }),
  ];
  await agree(`${lines.join('\n')}\n`);
  assert.equal(await scanned(lines.join('\n')), [H1, H2, H1, H2]);
});

t('paths and fields that hide chunk-like text, escapes and other forms: the reader\'s answer', async () => {
  const tricky = [
    file('a"chunks":[["' + H2 + '",5]]', [[H1, 3]]),
    file('back\\slash\\"', [[H1, 3]]),
    file('ünïcødé/' + 'é'.repeat(127), [[H2, 9]]),
    file('tab\tnew\nline\u0001', [[H1, 1]]),
    file('sym', [], { xattrs: { 'user.note': Buffer.from('"chunks":[["' + H1 + '",1]]').toString('base64') } }),
    JSON.stringify({ path: 'l', type: 'symlink', size: 5, mode: 0o777, mtime: 1, target: '"chunks":[["x",1]]\\' }),
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chun\\u006bs":[["${H2}",3]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3]],"chunks":[["${H2}",3]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["\\u0030${H1.slice(1)}",3]]}`,
    `{"type":"file","path":"e","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3]]}`,
    `{"path":"e", "type":"file","size":3,"mode":420,"mtime":1, "chunks": [ ["${H1}", 3] ] }`,
    `{"path":"e","type":"file","size":2,"mode":420,"mtime":1,"chunks" :[["${H1}",1],["${H2}",1]]}`,
    `{"path":"e","type":"file","size":2,"mode":420,"mtime":1,"chunks"\t:[["${H1}",1],["${H2}",1]]}`,
    `{"path":"e","type":"file","size":2,"mode":420,"mtime":1,"chunks"\r:[["${H1}",1],["${H2}",1]]}`,
    `{"path":"e","type":"file","size":2,"mode":420,"mtime":1,"xattrs":{"chunks":[]},"chunks" :[["${H1}",1],["${H2}",1]]}`,
    `{"path":"e","type":"file","size":2,"mode":420,"mtime":1,"chunks":[],"chunks" :[["${H1}",1],["${H2}",1]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1.toUpperCase()}",3]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3e0]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",03]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"xattrs":{"chunks":[["${H2}",3]]},"chunks":[["${H1}",3]]}`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3]]`,
    `{"path":"e","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3]]}\r`,
    `{"path":"../up","type":"file","size":3,"mode":420,"mtime":1,"chunks":[["${H1}",3]]}`,
    `{"path":"e","type":"file","size":4,"mode":420,"mtime":1,"chunks":[["${H1}",3]]}`,
    `{"path":"e","type":"dir","size":0,"mode":420,"mtime":1,"chunks":[["${H1}",3]]}`,
    'not json at all',
    '{"path":"unterminated',
    '[]',
  ];
  for (const line of tricky) {
    await agree(`${line}\n`);
    await agree(`${file('first', [[H2, 1]])}\n${line}\n${file('last', [[H1, 2]])}`);
  }
});

t('seeded random entries, mutated byte by byte: never a hash the reader would give that the scanner misses', async () => {
  const random = rng(15);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  const alphabet = ['a', 'Z', '"', '\\', '/', ' ', 'é', '\u0000', '\n', 'chunks', '":', '[[', ']]', ','];
  for (let i = 0; i < 3000; i++) {
    const chunks = Array.from({ length: Math.floor(random() * 4) }, () => [hashOf(Math.floor(random() * 1e9)), 1 + Math.floor(random() * 1000)] as [string, number]);
    const name = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(alphabet)).join('');
    let line = file(`dir/${name}`, chunks, random() < 0.3 ? { xattrs: { [`user.${name}`]: 'eA==' } } : {});
    if (random() < 0.5) {
      const at = Math.floor(random() * line.length);
      line = line.slice(0, at) + pick(alphabet) + line.slice(at + (random() < 0.5 ? 1 : 0));
    }
    await agree(`${line}\n`);
  }
});

t('a page that is not gzip, or cut short: INTEGRITY naming it, as the reader says', async () => {
  const whole = gzipSync(`${file('a', [[H1, 3]])}\n`);
  for (const data of [Buffer.from('plain text'), whole.subarray(0, whole.length - 6)]) {
    const err = await forEachPageChunk('meta/x/manifest-0.ndjson.gz', data, () => {}).catch((e: unknown) => e as Error & { code?: string });
    assert.is(err?.code, 'INTEGRITY');
    assert.ok(err?.message.startsWith('meta/x/manifest-0.ndjson.gz: not valid gzip'), err?.message);
  }
});

t('claims: a hash claimed has no location until placed; the first place wins; set places a claim', () => {
  const index = new CompactBlobIndex();
  const words = (hex: string) => new Uint32Array(Uint8Array.from(Buffer.from(hex, 'hex')).buffer);
  assert.ok(index.claimWords(words(H1), 0));
  assert.not.ok(index.claimWords(words(H1), 0), 'claimed once');
  assert.ok(index.claimWords(words(H2), 0));
  assert.is(index.size, 2);
  assert.is(index.unplaced, 2);
  assert.not.ok(index.has(H1), 'a claim is not a location');
  assert.is(index.get(H1), undefined);
  assert.equal([...index], []);
  assert.not.ok(index.placeWords(words(hashOf(3)), 0, 'p1', 0, 5, undefined), 'an unclaimed hash is not placed');
  assert.ok(index.placeWords(words(H1), 0, 'p1', 10, 5, 'zstd'));
  assert.not.ok(index.placeWords(words(H1), 0, 'p2', 0, 5, undefined), 'the first place wins');
  assert.equal(index.get(H1), { pack: 'p1', offset: 10, length: 5, codec: 'zstd' });
  const unplaced: string[] = [];
  index.forEachUnplaced((w, start) => unplaced.push(Buffer.from(w.buffer, w.byteOffset + start * 4, 32).toString('hex')));
  assert.equal(unplaced, [H2]);
  index.set(H2, { pack: 'p2', offset: 0, length: 7 });
  assert.is(index.unplaced, 0);
  const located: string[] = [];
  index.forEachLocation((pack, offset, length, w, start) => located.push(`${pack}:${offset}:${length}:${Buffer.from(w.buffer, w.byteOffset + start * 4, 32).toString('hex')}`));
  assert.equal(located, [`p1:10:5:${H1}`, `p2:0:7:${H2}`]);
  assert.is(index.size, 2);
});

t.run();
