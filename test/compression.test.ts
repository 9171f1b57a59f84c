/**
 * Chunk compression (format version 2): round trips through every read path, chunks that do not compress stored
 * raw, a damaged compressed chunk refused with INTEGRITY, and a store made by format version 1 code (the
 * checked-in fixture) read unchanged and kept readable by older builds.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { textBytes } from '../bench/text-corpus.js';
import { type Store, openStore } from '../engine/index.js';
import { loadBlobIndex } from '../engine/meta/blob-index.js';
import { openStorage } from '../engine/storage/open.js';
import { copyTree } from '../engine/copy/copy.js';
import { type BlobLocation, type IndexEntry, keys } from '../engine/vocab.js';
import { adoptPacks } from '../engine/meta/adopt-packs.js';
import { CompactBlobIndex } from '../engine/meta/compact-index.js';
import { encodeTrailer, readTrailer, verifyListed } from '../engine/meta/pack-trailer.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { compressChunk, looksRandom } from '../workers/codec.js';
import { forgetBundle } from './gc-helpers.js';
import { cli, describeTree, listFiles, repoRoot, seededBytes, tempDir, who, writeFile } from './helpers.js';
import { createHash } from 'node:crypto';

const t = suite('compression: zstd per chunk, format version 2, version 1 stores read unchanged');

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A tree of text (compressible) and seeded random bytes (not), in chunks of 4 MiB and less. */
function mixedSource(): string {
  const src = tempDir('z-src');
  writeFile(src, 'logs/app.log', textBytes('log', 1, 6 * MiB + 123));
  writeFile(src, 'data/table.csv', textBytes('csv', 2, 300_000));
  writeFile(src, 'src/main.ts', textBytes('source', 3, 5_000));
  writeFile(src, 'random.bin', seededBytes(4, 5 * MiB));
  writeFile(src, 'tiny.txt', 'x');
  writeFile(src, 'empty', '');
  return src;
}

async function storeWith(compression?: 'off' | 'fast' | 'default' | 'max'): Promise<{ root: string; store: Store }> {
  const root = path.join(tempDir('z-store'), 'store');
  const store = await openStore({ url: root, create: true });
  await store.createRepo('r', { contributor: who, ...(compression ? { compression } : {}) });
  return { root, store };
}

/** The index entry of each chunk of `file` (by its bytes cut at 4 MiB, the fixed chunker's). */
async function locationsOf(root: string, file: Buffer): Promise<BlobLocation[]> {
  const index = await loadBlobIndex(openStorage(root));
  const out: BlobLocation[] = [];
  for (let at = 0; at < file.length; at += 4 * MiB) out.push(index.get(sha(file.subarray(at, at + 4 * MiB)))!);
  return out;
}

const contents = (root: string) => new Map(listFiles(root).map((f) => [f, sha(readFileSync(path.join(root, f)))]));

t('a new repo compresses by default: text is stored smaller (zstd), random bytes raw at their size; every reader gets the bytes back', async () => {
  const src = mixedSource();
  const { root, store } = await storeWith();
  assert.is((await store.repo('r').describe()).compression, 'default');
  assert.is(JSON.parse(readFileSync(path.join(root, 'format.json'), 'utf8')).version, 2);
  const up = await store.repo('r').upload({ source: src, contributor: who, label: 'main' });

  const log = readFileSync(path.join(src, 'logs/app.log'));
  for (const [i, loc] of (await locationsOf(root, log)).entries()) {
    const plain = Math.min(4 * MiB, log.length - i * 4 * MiB);
    assert.is(loc.codec, 'zstd', `log chunk ${i}`);
    assert.ok(loc.length < plain * 0.5, `log chunk ${i} stored in ${loc.length} bytes of ${plain}`);
  }
  for (const loc of await locationsOf(root, readFileSync(path.join(src, 'random.bin')))) {
    assert.is(loc.codec, undefined, 'random bytes are stored raw');
  }
  const random = await locationsOf(root, readFileSync(path.join(src, 'random.bin')));
  assert.equal(random.map((l) => l.length), [4 * MiB, MiB], 'random chunks stored at their own size');
  assert.ok(up.bundle.stats.storedBytes! < up.bundle.stats.newBytes * 0.8, `stored ${up.bundle.stats.storedBytes} of ${up.bundle.stats.newBytes}`);

  const out = path.join(tempDir('z-out'), 'out');
  await store.repo('r').download({ ref: 'main', dest: out, contributor: who });
  assert.equal(describeTree(out), describeTree(src), 'download (write workers) round trip');
  assert.equal((await store.repo('r').verify({ ref: 'main', contributor: who })).chunks > 0, true);
  assert.equal((await store.fsck({ readData: true })).problems, [], 'fsck --read-data');

  const reader = await store.repo('r').openReader('main');
  assert.ok((await reader.read('logs/app.log', 4 * MiB - 10, 1000)).equals(log.subarray(4 * MiB - 10, 4 * MiB + 990)), 'reader (mount, serve) across a chunk boundary');
  const cat = cli(['--store', root, 'bundle', 'cat', '--repo', 'r', 'main', 'data/table.csv']);
  assert.is(cat.code, 0, cat.stderr);
  assert.is(sha(Buffer.from(cat.stdout, 'latin1')), sha(readFileSync(path.join(src, 'data/table.csv'))), 'cat');

  const copy = path.join(tempDir('z-copy'), 'store');
  await copyTree({ source: openStorage(root), dest: openStorage(copy) });
  const copied = await openStore({ url: copy });
  const back = path.join(tempDir('z-copy-out'), 'out');
  await copied.repo('r').download({ ref: 'main', dest: back, contributor: who });
  assert.equal(describeTree(back), describeTree(src), 'a copied store reads the same');
});

t('compression off stores every chunk raw; chunk ids name the plaintext, so a compressing repo dedups against it', async () => {
  const src = mixedSource();
  const { root, store } = await storeWith('off');
  await store.createRepo('z', { contributor: who, compression: 'max' });
  const plain = await store.repo('r').upload({ source: src, contributor: who });
  assert.is(plain.bundle.stats.storedBytes, undefined, 'stored as many bytes as new');
  const log = readFileSync(path.join(src, 'logs/app.log'));
  for (const loc of await locationsOf(root, log)) assert.is(loc.codec, undefined);
  const again = await store.repo('z').upload({ source: src, contributor: who });
  assert.is(again.bundle.stats.newBytes, 0, 'every chunk deduplicated across repos of different compression');
  const out = path.join(tempDir('z-off-out'), 'out');
  await store.repo('z').download({ ref: again.bundle.id, dest: out, contributor: who });
  assert.equal(describeTree(out), describeTree(src));
});

t('the sample test: random data is skipped without compressing it; each level shrinks text, higher levels more', async () => {
  assert.is(compressChunk(seededBytes(9, 4 * MiB), 3), undefined);
  assert.is(compressChunk(seededBytes(9, 5000), 3), undefined, 'a chunk under 8 KiB is tried whole');
  assert.ok(looksRandom(seededBytes(9, 4096)), 'random bytes are stored raw untried');
  assert.not.ok(looksRandom(textBytes('log', 6, 4096)), 'text is tried');
  const repeated = Buffer.concat(Array.from({ length: 20 }, () => seededBytes(10, 256)));
  assert.not.ok(looksRandom(repeated), 'near-uniform bytes that repeat are tried');
  assert.ok(compressChunk(repeated, 3), 'and kept: they shrink');
  assert.ok(compressChunk(textBytes('log', 6, 5000), 3), 'and kept when it shrinks');
  assert.is(compressChunk(textBytes('log', 6, 4095), 3), undefined, 'a chunk under 4 KiB is stored raw untried');
  // Text with a random middle: the sample (spread across the chunk) still finds the text.
  const text = textBytes('json', 5, 2 * MiB);
  const sizes = [1, 3, 9].map((level) => compressChunk(text, level)?.length ?? text.length);
  for (const size of sizes) assert.ok(size < text.length * 0.5, `${size} of ${text.length}`);
  assert.ok(sizes[0]! > sizes[1]! && sizes[1]! > sizes[2]!, `the levels differ: ${sizes.join(', ')}`);
});

t('a pack of compressed blobs has a dmpackT2 trailer listing each codec; its blobs verify after decoding and are adopted with their codec', async () => {
  const storage = new MemoryStorage();
  const pack = 'cd'.repeat(32);
  const plain = [textBytes('log', 41, 300_000), seededBytes(42, 5000), textBytes('csv', 43, 70_000)];
  const stored = plain.map((p) => compressChunk(p, 3) ?? p);
  let offset = 0;
  const entries: IndexEntry[] = stored.map((b, i) => {
    const e: IndexEntry = { blob: sha(plain[i]!), pack, offset, length: b.length, ...(b !== plain[i] ? { codec: 'zstd' as const } : {}) };
    offset += b.length;
    return e;
  });
  assert.equal(entries.map((e) => e.codec), ['zstd', undefined, 'zstd']);
  const trailer = encodeTrailer(entries);
  assert.is(trailer.subarray(-16, -8).toString('latin1'), 'dmpackT2');
  assert.is(encodeTrailer(entries.map(({ codec: _, ...raw }) => raw)).subarray(-16, -8).toString('latin1'), 'dmpackT1', 'raw blobs only: the old trailer');
  const bytes = Buffer.concat([...stored, trailer]);
  await storage.put(keys.pack(pack), bytes);
  const read = await readTrailer(storage, pack, bytes.length);
  assert.equal(read.kind === 'listed' ? read.entries : read, entries);
  assert.equal((await verifyListed(storage, pack, entries, offset)).good, entries);
  const index = new CompactBlobIndex();
  await adoptPacks(storage, index, [[pack, bytes.length]]);
  assert.equal(entries.map((e) => index.get(e.blob)), entries.map(({ blob: _, ...loc }) => loc));
  const flipped = Buffer.from(bytes);
  flipped[entries[2]!.offset + 40] ^= 1;
  await storage.put(keys.pack(pack), flipped);
  assert.equal((await verifyListed(storage, pack, entries, offset)).bad, [entries[2]!.blob]);
});

t('a damaged compressed chunk: download, verify and cat fail with INTEGRITY naming the file; fsck --read-data names the chunk', async () => {
  const src = tempDir('z-bad-src');
  writeFile(src, 'good.bin', seededBytes(11, 100_000));
  writeFile(src, 'notes.log', textBytes('log', 12, 1 * MiB));
  const { root, store } = await storeWith();
  await store.repo('r').upload({ source: src, contributor: who, label: 'main' });
  const [loc] = await locationsOf(root, readFileSync(path.join(src, 'notes.log')));
  assert.is(loc!.codec, 'zstd');
  const packFile = path.join(root, 'blobs/packs', loc!.pack.slice(0, 2), loc!.pack);
  for (const where of [Math.floor(loc!.length / 2), 1]) { // inside the frame's data, and in its header
    const pack = readFileSync(packFile);
    const saved = Buffer.from(pack);
    pack[loc!.offset + where] ^= 0x5a;
    writeFileSync(packFile, pack);
    const out = path.join(tempDir('z-bad-out'), 'out');
    const d = cli(['--store', root, 'bundle', 'download', out, '--repo', 'r', '--label', 'main']);
    assert.is(d.code, 4, d.stderr);
    assert.match(d.stderr, /notes\.log/);
    assert.match(d.stderr, new RegExp(sha(readFileSync(path.join(src, 'notes.log'))).slice(0, 12)));
    const v = cli(['--store', root, 'bundle', 'verify', '--repo', 'r', '--label', 'main']);
    assert.is(v.code, 4, v.stderr);
    assert.match(v.stderr, /notes\.log/);
    const c = cli(['--store', root, 'bundle', 'cat', '--repo', 'r', 'main', 'notes.log']);
    assert.is(c.code, 4, c.stderr);
    const f = cli(['--store', root, 'fsck', '--read-data']);
    assert.is(f.code, 4, f.stdout + f.stderr);
    assert.match(f.stdout + f.stderr, /chunk [0-9a-f]{12} (does not match its hash|is in pack [0-9a-f]{12}, whose zstd bytes for it do not decode)/);
    writeFileSync(packFile, saved);
  }
  assert.equal((await store.fsck({ readData: true })).problems, [], 'whole again');
});

t('gc repacks compressed chunks as they are: still zstd, same stored bytes, still readable', async () => {
  const { root, store } = await storeWith();
  const shared = textBytes('csv', 21, 3 * MiB);
  const a = tempDir('z-gc-a');
  writeFile(a, 'unique.bin', seededBytes(22, 4 * MiB));
  writeFile(a, 'shared.csv', shared);
  const b = tempDir('z-gc-b');
  writeFile(b, 'shared.csv', shared);
  writeFile(b, 'own.txt', 'b\n');
  const ua = await store.repo('r').upload({ source: a, contributor: who });
  const ub = await store.repo('r').upload({ source: b, contributor: who });
  const [before] = await locationsOf(root, shared);
  await forgetBundle(openStorage(root), 'r', ua.bundle.id);
  const r = await store.gc({ graceMs: 0 });
  assert.is(r.repacked.packs, 1, 'A\'s pack held B\'s shared chunk');
  const [after] = await locationsOf(root, shared);
  assert.is.not(after!.pack, before!.pack, 'moved');
  assert.equal([after!.codec, after!.length], ['zstd', before!.length], 'carried through compressed');
  const out = path.join(tempDir('z-gc-out'), 'out');
  await store.repo('r').download({ ref: ub.bundle.id, dest: out, contributor: who });
  assert.equal(describeTree(out), describeTree(b));
  assert.equal((await store.fsck({ readData: true })).problems, []);
});

t('the format version 1 fixture (made by code before compression) reads unchanged, takes new bundles raw and stays version 1', async () => {
  const root = path.join(tempDir('z-v1'), 'store');
  cpSync(path.join(repoRoot, 'test/fixtures/v1-store'), root, { recursive: true });
  const source = path.join(repoRoot, 'test/fixtures/v1-source');
  const store = await openStore({ url: root });
  assert.is((await store.format()).version, 1);
  assert.is((await store.repo('fixture').describe()).compression, undefined);
  const out = path.join(tempDir('z-v1-out'), 'out');
  await store.repo('fixture').download({ ref: 'main', dest: out, contributor: who });
  assert.equal(contents(out), contents(source), 'the v1 bundle byte for byte');
  assert.equal((await store.fsck({ readData: true })).problems, []);
  const reader = await store.repo('fixture').openReader('main');
  assert.ok((await reader.read('hello.txt', 0, 100)).equals(readFileSync(path.join(source, 'hello.txt')).subarray(0, 100)));

  // New data in a version 1 store stays raw, and the store stays version 1: older builds keep reading it.
  const more = tempDir('z-v1-more');
  writeFile(more, 'text.log', textBytes('log', 31, 200_000));
  await store.repo('fixture').upload({ source: more, contributor: who });
  for (const [, loc] of await loadBlobIndex(openStorage(root))) assert.is(loc.codec, undefined);
  assert.is(JSON.parse(readFileSync(path.join(root, 'format.json'), 'utf8')).version, 1);
  const refused = cli(['--store', root, 'repo', 'create', 'z', '--compression', 'fast']);
  assert.is(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /format version 1, which older builds read: its repos cannot compress/);
  assert.is(cli(['--store', root, '--json', 'repo', 'create', 'z', '--compression', 'fast']).stdout.includes('"code":"FORMAT"'), true);
  assert.is(cli(['--store', root, 'repo', 'create', 'plain']).code, 0, 'a new repo in a v1 store defaults to off');
  assert.is((await store.repo('plain').describe()).compression, undefined);
});

t('repo create --compression: the level is recorded and shown; a bad one is a usage error', () => {
  const root = path.join(tempDir('z-cli'), 'store');
  assert.is(cli(['--store', root, 'repo', 'create', 'f', '--compression', 'fast']).code, 0);
  assert.match(cli(['--store', root, 'repo', 'get', 'f']).stdout, /compression: fast/);
  assert.match(cli(['--store', root, 'repo', 'get', 'f', '--json']).stdout, /"compression":"fast"/);
  assert.match(cli(['--store', root, 'repo', 'create', 'o', '--compression', 'off']).stdout, /created repo o/);
  assert.match(cli(['--store', root, 'repo', 'get', 'o']).stdout, /compression: off/);
  const bad = cli(['--store', root, 'repo', 'create', 'x', '--compression', 'ultra']);
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--compression "ultra": expected off, fast, default or max/);
});

t.run();
