/**
 * gc scenarios run through the binary against any store URL (local, RGW, GCS): secret removal by rewrite + gc,
 * repo delete + gc, forget + gc. Shared by gc-secret.test.ts (local) and cloud-gc.test.ts.
 */
import * as assert from 'uvu/assert';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { openStorage } from '../engine/storage/open.js';
import { readAll, type Storage } from '../engine/storage/storage.js';
import { cli, describeTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

type Run = (...args: string[]) => ReturnType<typeof cli>;

/** The store at `url` as storage, reaching S3 through the endpoint `env` names (as the binary does). */
export function storageAt(url: string, env: Record<string, string> = {}): Storage {
  return openStorage(url, env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3 } : {});
}

export function runner(url: string, env: Record<string, string> = {}): Run {
  return (...args: string[]) => cli(['--store', url, ...args], env);
}

/** Keys of every object of the store whose bytes (or, for gzip objects, whose unzipped bytes) contain `marker`. */
export async function objectsContaining(storage: Storage, marker: string): Promise<string[]> {
  const needle = Buffer.from(marker);
  const found: string[] = [];
  for await (const e of storage.list('')) {
    let data = await readAll(storage, e.key);
    if (data[0] === 0x1f && data[1] === 0x8b) data = Buffer.concat([data, gunzipSync(data)]);
    if (data.includes(needle)) found.push(e.key);
  }
  return found;
}

export async function allKeys(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list('')) keys.push(e.key);
  return keys;
}

function upload(run: Run, src: string, repo: string, label?: string): string {
  const r = run('--json', 'bundle', 'upload', src, '--repo', repo, ...(label ? ['--label', label] : []));
  assert.is(r.code, 0, r.stderr);
  return summaryOf(r.stdout).bundle as string;
}

function downloadEquals(run: Run, repo: string, ref: string, expected: string): void {
  const dest = path.join(tempDir('gcs-dest'), 'out');
  const r = run('bundle', 'download', dest, '--repo', repo, '--label', ref);
  assert.is(r.code, 0, r.stderr);
  assert.equal(describeTree(dest), describeTree(expected));
}

/**
 * Two bundles hold secret.txt (a marker in its bytes); `bundle rewrite --all --exclude secret.txt`, then
 * `gc --grace 0 --max-unused 0`: no object of the store holds the marker, the rewritten bundles download as
 * their sources without the secret, fsck --read-data is clean.
 */
export async function secretRemoval(url: string, env: Record<string, string> = {}): Promise<void> {
  const run = runner(url, env);
  const marker = `SECRET-${Date.now()}-do-not-keep`;
  assert.is(run('repo', 'create', 'r').code, 0);
  const sources = [1, 2].map((i) => {
    const src = tempDir(`secret-src${i}`);
    writeFile(src, 'data/big.bin', seededBytes(40 + i, 3 * 1024 * 1024 + i));
    writeFile(src, 'notes.txt', `notes of version ${i}\n`);
    writeFile(src, 'secret.txt', `password=${marker}\n`);
    return src;
  });
  for (const [i, src] of sources.entries()) upload(run, src, 'r', i === 1 ? 'latest' : undefined);
  const storage = storageAt(url, env);
  assert.ok((await objectsContaining(storage, marker)).length > 0, 'the marker is stored before');
  const rw = run('--json', 'bundle', 'rewrite', '--all', '--repo', 'r', '--exclude', 'secret.txt');
  assert.is(rw.code, 0, rw.stderr);
  const gc = run('--json', 'gc', '--grace', '0', '--max-unused', '0');
  assert.is(gc.code, 0, gc.stderr);
  assert.equal(await objectsContaining(storage, marker), [], 'no object holds the secret after gc');
  const withoutSecret = describeTree(sources[1]!);
  withoutSecret.delete('secret.txt');
  const dest = path.join(tempDir('secret-dest'), 'out');
  assert.is(run('bundle', 'download', dest, '--repo', 'r', '--label', 'latest').code, 0);
  assert.equal(describeTree(dest), withoutSecret, 'the rewritten bundle is its source without the secret');
  const descriptors = (await allKeys(storage)).filter((k) => k.startsWith('meta/repos/r/bundles/') && k.endsWith('/bundle.json'));
  assert.is(descriptors.length, 2, 'both bundles rewritten, the originals forgotten');
  const fsck = run('fsck', '--read-data');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
}

/** `repo delete gone --yes` then `gc --grace 0`: no object holds gone's data or sits under its folder; `kept` is whole. */
export async function repoDeleteThenGc(url: string, env: Record<string, string> = {}): Promise<void> {
  const run = runner(url, env);
  const marker = `REPO-GONE-${Date.now()}`;
  for (const repo of ['gone', 'kept']) assert.is(run('repo', 'create', repo).code, 0);
  const goneSrc = tempDir('gone-src');
  writeFile(goneSrc, 'a.txt', `${marker}\n`.repeat(1000));
  writeFile(goneSrc, 'b.bin', seededBytes(61, 2 * 1024 * 1024));
  const keptSrc = tempDir('kept-src');
  writeFile(keptSrc, 'k.bin', seededBytes(62, 2 * 1024 * 1024));
  upload(run, goneSrc, 'gone', 'latest');
  upload(run, keptSrc, 'kept', 'latest');
  assert.is(run('repo', 'delete', 'gone', '--yes').code, 0);
  const gc = run('--json', 'gc', '--grace', '0');
  assert.is(gc.code, 0, gc.stderr);
  const storage = storageAt(url, env);
  assert.equal(await objectsContaining(storage, marker), [], 'no object holds the deleted repo\'s data');
  const left = (await allKeys(storage)).filter((k) => k.startsWith('meta/repos/gone/'));
  assert.equal(left, [], 'nothing under the deleted repo\'s folder');
  downloadEquals(run, 'kept', 'latest', keptSrc);
  const fsck = run('fsck', '--read-data');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
}
