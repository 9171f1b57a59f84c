/**
 * Hostile input: manifests crafted to escape the destination or confuse the restorer, and source trees with
 * names that are the same after Unicode normalisation (kept apart: names are bytes). Each is refused or handled
 * safely; nothing lands outside.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { downloadBundle } from '../engine/download/download.js';
import { isDatamoverError } from '../engine/errors.js';
import { newId } from '../engine/meta/ids.js';
import { gzipLines, putJson } from '../engine/meta/objects.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { LocalStorage } from '../engine/storage/local.js';
import { type BundleDescriptor, type FileEntry, keys } from '../engine/vocab.js';
import { cli, tempDir, writeFile, who, withRepo } from './helpers.js';

const t = suite('hostile input: crafted manifests and colliding names');

/** A store holding one real blob ("payload"), and a way to commit any manifest that uses it. */
async function craftingStore() {
  const storage = await withRepo(new LocalStorage(tempDir('hostile-store')));
  const src = tempDir('hostile-src');
  writeFile(src, 'p.txt', 'payload');
  const real = (await uploadBundle({ storage, repo: 'r', source: src, contributor: who })).bundle;
  const chunk: [string, number] = [createHash('sha256').update('payload').digest('hex'), 7];
  const file = (p: string): FileEntry => ({ path: p, type: 'file', size: 7, mode: 0o644, mtime: 1_600_000_000_000, chunks: [chunk] });
  const commit = async (entries: FileEntry[]): Promise<string> => {
    const id = newId();
    const key = keys.manifestPage('r', id, 0);
    const data = gzipLines(entries);
    await storage.put(key, data);
    const pages = [{ key, first: entries[0]!.path, last: entries.at(-1)!.path, count: entries.length, sha256: createHash('sha256').update(data).digest('hex') }];
    const descriptor: BundleDescriptor = { ...real, id, pages, files: entries.length };
    await putJson(storage, keys.bundle('r', id), descriptor);
    return id;
  };
  return { storage, file, commit };
}

async function refused(storage: LocalStorage, id: string, code: 'UNSAFE_PATH' | 'INTEGRITY', mentions: string) {
  const outside = tempDir('hostile-outside');
  const dest = path.join(tempDir('hostile-dest'), 'out');
  try {
    await downloadBundle({ storage, repo: 'r', ref: { bundle: id }, dest, contributor: who });
    assert.unreachable('the manifest was accepted');
  } catch (err) {
    assert.ok(isDatamoverError(err, code), `${code} expected: ${String(err)}`);
    assert.ok(String(err).includes(mentions), `${String(err)} mentions ${mentions}`);
  }
  assert.equal(readdirSync(outside), [], 'nothing outside');
  return dest;
}

t('paths with .., absolute paths, NUL bytes, empty components or names no walk yields are refused (UNSAFE_PATH)', async () => {
  const { storage, file, commit } = await craftingStore();
  // The last two: a lone surrogate that stands for no byte, and escaped bytes spelling valid UTF-8 ("é" twice).
  for (const bad of ['../escape.txt', 'a/../../escape.txt', '/etc/evil', 'nul\0byte', 'a//b', './dot', 'lone\ud800', 'caf\udcc3\udca9']) {
    const id = await commit([file(bad)]);
    await refused(storage, id, 'UNSAFE_PATH', JSON.stringify(bad));
  }
  assert.not.ok(existsSync(path.join(tempDir('x'), '..', 'escape.txt')));
});

t('duplicate and out-of-order paths are refused before they are written (INTEGRITY)', async () => {
  const { storage, file, commit } = await craftingStore();
  const dup = await refused(storage, await commit([file('a.txt'), file('a.txt')]), 'INTEGRITY', 'duplicate or out of order');
  assert.not.ok(existsSync(path.join(dup, 'a.txt')) && readdirSync(dup).length > 1);
  await refused(storage, await commit([file('a.txt'), file('c.txt'), file('b.txt')]), 'INTEGRITY', '"b.txt" comes after "c.txt"');
  // A page whose record's first sorts after its last is refused at the descriptor, before any page is read.
  await refused(storage, await commit([file('b.txt'), file('a.txt')]), 'INTEGRITY', 'first "b.txt" sorts after last "a.txt"');
});

t('a symlink out of the destination is restored as a link, and nothing is ever written through it', async () => {
  const { storage, file, commit } = await craftingStore();
  const outside = tempDir('hostile-target');
  const link: FileEntry = { path: 'evil', type: 'symlink', size: 0, mode: 0o777, mtime: 1_600_000_000_000, target: outside };
  // First a bundle with only the link; then, into the same destination, one that writes under "evil/".
  const dest = path.join(tempDir('hostile-dest'), 'out');
  await downloadBundle({ storage, repo: 'r', ref: { bundle: await commit([link]) }, dest, contributor: who });
  try {
    await downloadBundle({ storage, repo: 'r', ref: { bundle: await commit([file('evil/x.txt')]) }, dest, contributor: who });
    assert.unreachable('wrote through the link');
  } catch (err) {
    assert.ok(isDatamoverError(err, 'UNSAFE_PATH'), String(err));
    assert.match(String(err), /evil in the destination is a symlink/);
  }
  assert.equal(readdirSync(outside), [], 'nothing written through the link');
});

t('upload: two names that are the same after NFC normalisation are two files, each restored to its own bytes', () => {
  const src = tempDir('nfc');
  mkdirSync(path.join(src, 'd'));
  writeFileSync(path.join(src, 'd', 'caf\u00e9.txt'), 'composed');
  writeFileSync(path.join(src, 'd', 'cafe\u0301.txt'), 'decomposed');
  const store = path.join(tempDir('nfc-store'), 's');
  cli(['--store', store, 'repo', 'create', 'r']);
  const r = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(r.code, 0, r.stderr);
  const dest = path.join(tempDir('nfc-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  const names = readdirSync(path.join(dest, 'd'), { encoding: 'buffer' }).map((b) => b.toString('hex')).sort();
  assert.equal(names, [Buffer.from('caf\u00e9.txt'), Buffer.from('cafe\u0301.txt')].map((b) => b.toString('hex')).sort(), 'both names, byte for byte');
  assert.is(readFileSync(path.join(dest, 'd', 'caf\u00e9.txt'), 'utf8'), 'composed');
  assert.is(readFileSync(path.join(dest, 'd', 'cafe\u0301.txt'), 'utf8'), 'decomposed');
});

t('upload: names differing only in case are distinct paths and round-trip', () => {
  const src = tempDir('case');
  writeFile(src, 'Readme.md', 'upper');
  writeFile(src, 'readme.md', 'lower');
  const store = path.join(tempDir('case-store'), 's');
  cli(['--store', store, 'repo', 'create', 'r']);
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']).code, 0);
  const dest = path.join(tempDir('case-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  assert.equal(readdirSync(dest).sort(), ['Readme.md', 'readme.md']);
});

t.run();
