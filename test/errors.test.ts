/**
 * One error model: every failure a user can meet is a DatamoverError with a `code`, storage failures included;
 * the binary maps the code to its exit code and prints one line.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { errorCodeOf, exitCodeFor } from '../cli/exit-codes.js';
import { DatamoverError, isDatamoverError } from '../engine/errors.js';
import { newId } from '../engine/meta/ids.js';
import { gzipLines, putJson } from '../engine/meta/objects.js';
import { Packer } from '../engine/upload/packer.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { LocalStorage } from '../engine/storage/local.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type Storage, StorageError, isStorageError } from '../engine/storage/storage.js';
import { type BundleDescriptor, type FileEntry, keys } from '../engine/vocab.js';
import { asNobody, cli, runsIf, summaryOf, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('errors: one hierarchy, coded, one line through the binary');

t('a StorageError is a DatamoverError with code STORAGE that keeps its kind and cause', () => {
  const cause = new Error('socket hang up');
  const err = new StorageError('retryable', 'gs://b get k: socket hang up', { cause });
  assert.instance(err, DatamoverError);
  assert.ok(isDatamoverError(err, 'STORAGE'));
  assert.ok(isStorageError(err, 'retryable'));
  assert.is(err.code, 'STORAGE');
  assert.is(err.cause, cause);
  assert.is(err.name, 'StorageError');
  assert.is(exitCodeFor(err), 1);
  assert.is(errorCodeOf(err), 'STORAGE');
  // A DatamoverError that is not a storage failure is not mistaken for one.
  assert.not.ok(isStorageError(new DatamoverError('STORAGE', 'x')));
});

t('binary: a storage failure exits 1 with one line and code STORAGE', () => {
  const root = tempDir('err-store');
  const store = path.join(root, 'store');
  mkdirSync(path.join(root, 'elsewhere'));
  mkdirSync(store);
  symlinkSync('../elsewhere', path.join(store, '.tmp')); // the local store refuses to write through a link
  const r = cli(['--store', store, '--json', 'repo', 'create', 'r']);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^datamover: error: .*refusing to write through it/);
  assert.is(summaryOf(r.stdout).error.code, 'STORAGE');
});

t('a store answering an unconditional put with precondition-failed fails the pack with a STORAGE error', async () => {
  // Only a misbehaving server does this (a 412 to a put without a condition); it must not surface as INTERNAL.
  const inner = new MemoryStorage();
  const refusing: Storage = Object.assign(Object.create(inner) as Storage, {
    put: async () => ({ status: 'precondition-failed' as const }),
  });
  const err = await packOneSmallBlob(refusing).then(() => undefined, (e: unknown) => e);
  assert.ok(isDatamoverError(err, 'STORAGE'), String(err));
  assert.match(String((err as Error).message), /packs\/.* precondition-failed/);
});

t('binary: a crafted symlink target that stands for no bytes is refused as UNSAFE_PATH (exit 4, one line)', async () => {
  const root = tempDir('err-target');
  const storage = await withRepo(new LocalStorage(root));
  const src = tempDir('err-target-src');
  writeFile(src, 'p.txt', 'payload');
  const real = (await uploadBundle({ storage, repo: 'r', source: src, contributor: who })).bundle;
  // A lone high surrogate: no walk yields it (bytes that are not UTF-8 are U+DC80..U+DCFF), only a crafted manifest.
  const link: FileEntry = { path: 'link', type: 'symlink', size: 0, mode: 0o777, mtime: 1_600_000_000_000, target: 'to\ud800' };
  const id = newId();
  const key = keys.manifestPage('r', id, 0);
  const data = gzipLines([link]);
  await storage.put(key, data);
  const pages = [{ key, first: 'link', last: 'link', count: 1, sha256: createHash('sha256').update(data).digest('hex') }];
  await putJson(storage, keys.bundle('r', id), { ...real, id, pages, files: 1 } satisfies BundleDescriptor);
  const dest = path.join(tempDir('err-target-dest'), 'out');
  const r = cli(['--store', root, '--json', 'bundle', 'download', dest, '--repo', 'r', '--bundle', id]);
  assert.is(r.code, 4, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /lone surrogate/);
  assert.match(r.stderr, /link: symlink target/, 'names the entry');
  assert.is(summaryOf(r.stdout).error.code, 'UNSAFE_PATH');
  assert.not.ok(existsSync(path.join(dest, 'link')));
});

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const withUnprivilegedUser = runsIf(t, isRoot && !hasSetpriv ? 'running as root without setpriv to drop privileges' : undefined);

withUnprivilegedUser('binary: a config file that cannot be written is an IO error naming it (exit 1, one line)', () => {
  const home = tempDir('err-home');
  const config = path.join(home, 'config.json');
  writeFileSync(config, '{"contexts":{}}\n');
  chmodSync(config, 0o644);
  chmodSync(home, 0o555); // readable, not writable: the new config cannot be staged beside the old
  const args = ['--json', 'context', 'create', 'x', '--store', path.join(home, 'store')];
  const r = isRoot ? asNobody(args, { DATAMOVER_HOME: home }) : cli(args, { DATAMOVER_HOME: home });
  chmodSync(home, 0o755);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /config\.json.*EACCES/);
  assert.is(summaryOf(r.stdout).error.code, 'IO');
  assert.is(readFileSync(config, 'utf8'), '{"contexts":{}}\n', 'the old config is kept');
});

t.run();

/** One small blob through a packer: the pack closes before its first part, so it goes out as one put. */
async function packOneSmallBlob(storage: Storage): Promise<void> {
  const packer = new Packer(storage, { packSize: 1024, partSize: 512, partsInFlight: 1, maxHeldSlices: 8, minPartSize: 0 }, async () => undefined);
  await packer.add('a'.repeat(64), Buffer.from('blob'), { retain() {}, release() {} });
  await packer.flush();
}
