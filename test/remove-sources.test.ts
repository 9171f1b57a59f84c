/**
 * `bundle upload --remove-source-files [--older-than]` (issue 17, "Done when"): only old, unchanged files are
 * removed; a file modified after it was hashed is kept and reported; the bundle holds every removed file byte
 * for byte; directories and symlinks stay.
 */
import { existsSync, linkSync, lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type EngineEvent, openStore } from '../engine/index.js';
import { cli, cliAsync, seededBytes, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { storeWithRepo } from './workflow-helpers.js';

const t = suite('upload --remove-source-files: the migration move');
const DAY = 86_400;

/** old/1..4 (mtime 3 days ago, one of them hard-linked twice), new/1..2 (now), a symlink; returns the contents. */
function tree(src: string): Map<string, Buffer> {
  const contents = new Map<string, Buffer>();
  const old = Math.floor(Date.now() / 1000) - 3 * DAY;
  for (let i = 1; i <= 4; i++) {
    const data = seededBytes(i, 50_000 * i);
    writeFile(src, `old/${i}.bin`, data, 0o644, old);
    contents.set(`old/${i}.bin`, data);
  }
  for (let i = 1; i <= 2; i++) {
    const data = seededBytes(100 + i, 10_000);
    writeFile(src, `new/${i}.bin`, data);
    contents.set(`new/${i}.bin`, data);
  }
  symlinkSync('../old/1.bin', path.join(src, 'new/link'));
  return contents;
}

/** Every file of `contents` is in bundle `id`, byte for byte. */
function assertBundleHolds(store: string, id: string, contents: Map<string, Buffer>): void {
  const dest = path.join(tempDir('rs-dest'), 'out');
  const r = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--bundle', id]);
  assert.is(r.code, 0, r.stderr);
  for (const [p, data] of contents) assert.ok(readFileSync(path.join(dest, p)).equals(data), `${p} in the bundle byte for byte`);
}

t('--older-than 1d: the old files are removed, the new ones kept and reported; dirs and links stay; exit 0', () => {
  const store = storeWithRepo('rs-store');
  const src = tempDir('rs-src');
  const contents = tree(src);
  const r = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--remove-source-files', '--older-than', '1d']);
  assert.is(r.code, 0, r.stderr);
  const summary = summaryOf(r.stdout);
  assert.equal(summary.removal, { removed: 4, removedBytes: 500_000, kept: 2, keptRecent: 2 });
  const kept = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'source.kept');
  assert.equal(kept.map((e) => e.path), ['new/1.bin', 'new/2.bin']);
  for (const e of kept) assert.match(e.reason, /--older-than/);
  for (let i = 1; i <= 4; i++) assert.not.ok(existsSync(path.join(src, `old/${i}.bin`)), `old/${i}.bin removed`);
  for (let i = 1; i <= 2; i++) assert.ok(readFileSync(path.join(src, `new/${i}.bin`)).equals(contents.get(`new/${i}.bin`)!));
  assert.ok(lstatSync(path.join(src, 'old')).isDirectory(), 'directories are left');
  assert.ok(lstatSync(path.join(src, 'new/link')).isSymbolicLink(), 'symlinks are left');
  assertBundleHolds(store, summary.bundle, contents);
});

t('without --older-than every unchanged file goes; hard links of one file are both removed; text mode prints the summary', () => {
  const store = storeWithRepo('rs-store');
  const src = tempDir('rs-src');
  const contents = tree(src);
  linkSync(path.join(src, 'old/2.bin'), path.join(src, 'old/hardlink.bin'));
  contents.set('old/hardlink.bin', contents.get('old/2.bin')!);
  const r = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--remove-source-files', '--label', 'moved']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /; 7 source files removed, 0 kept\n$/);
  for (const p of contents.keys()) assert.not.ok(existsSync(path.join(src, p)), `${p} removed`);
  assertBundleHolds(store, 'moved', contents);
});

t('a file modified after it was hashed is kept, reported with what changed; the bundle holds the version hashed', async () => {
  const storeDir = storeWithRepo('rs-store');
  const src = tempDir('rs-src');
  const contents = tree(src);
  const victim = path.join(src, 'old/3.bin');
  const events: EngineEvent[] = [];
  const store = await openStore(storeDir);
  // The last pack lands after every file was hashed and before the commit: rewrite one file then (same size).
  let modified = false;
  const reporter = (e: EngineEvent) => {
    events.push(e);
    if (e.type === 'pack.durable' && !modified) {
      modified = true;
      writeFileSync(victim, seededBytes(999, 150_000));
    }
  };
  const r = await store.repo('r').upload({ source: src, contributor: who, reporter, removeSourceFiles: { olderThanMs: DAY * 1000 } });
  assert.ok(modified);
  assert.equal(r.removal, { removed: 3, removedBytes: 350_000, kept: 3, keptRecent: 2 });
  const keptChanged = events.filter((e) => e.type === 'source.kept' && e.path === 'old/3.bin');
  assert.is(keptChanged.length, 1);
  assert.match((keptChanged[0] as { reason: string }).reason, /^changed since it was hashed \(.*mtime.*ctime\)$/);
  assert.ok(readFileSync(victim).equals(seededBytes(999, 150_000)), 'the modified file is untouched');
  assertBundleHolds(storeDir, r.bundle.id, contents);
});

t('--older-than longer than any file: nothing removed, each file named on stderr with why, exit 0', () => {
  const store = storeWithRepo('rs-store');
  const src = tempDir('rs-src');
  tree(src);
  const r = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--remove-source-files', '--older-than', '5000d']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /; 0 source files removed, 6 kept\n$/);
  assert.is(r.stderr.split('\n').filter((l) => /^datamover: kept (old|new)\/\d\.bin: modified more recently/.test(l)).length, 6);
  const bad = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--older-than', '1d']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--older-than goes with --remove-source-files/);
});

t('through the binary: the first file rewritten while later ones are still hashed is kept, named, exit 3', async () => {
  const store = storeWithRepo('rs-store');
  const src = tempDir('rs-src');
  writeFile(src, 'a-first.bin', seededBytes(1, 100_000));
  const contents = new Map([['a-first.bin', seededBytes(1, 100_000)]]);
  for (let i = 0; i < 24; i++) {
    contents.set(`z/${i}.bin`, seededBytes(50 + i, 3 * 1024 * 1024));
    writeFile(src, `z/${i}.bin`, contents.get(`z/${i}.bin`)!);
  }
  const child = cliAsync(['--store', store, '--json', '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r',
    '--remove-source-files', '--pack-size', '1MiB']);
  let stdout = '';
  let stderr = '';
  let modifiedAt: number | undefined;
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    // files are added to the manifest in walk order: once one is done, a-first.bin was hashed
    if (modifiedAt === undefined && /"type":"upload.progress","filesDone":[1-9]/.test(stdout)) {
      modifiedAt = stdout.length;
      writeFileSync(path.join(src, 'a-first.bin'), seededBytes(2, 100_000));
    }
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 128)));
  assert.ok(modifiedAt !== undefined, 'a progress event came');
  assert.not.ok(stdout.slice(0, modifiedAt).includes('bundle.committed'), 'the rewrite came before the commit');
  assert.is(code, 3, stderr);
  const kept = stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'source.kept');
  assert.equal(kept, [{ type: 'source.kept', path: 'a-first.bin', reason: 'changed since it was hashed (mtime, ctime)' }]);
  const summary = summaryOf(stdout);
  assert.equal(summary.removal, { removed: 24, removedBytes: 24 * 3 * 1024 * 1024, kept: 1, keptRecent: 0 });
  assert.ok(readFileSync(path.join(src, 'a-first.bin')).equals(seededBytes(2, 100_000)), 'the rewritten file is left');
  assertBundleHolds(store, summary.bundle, contents);
});

t.run();
