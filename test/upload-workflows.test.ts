/**
 * The datamon upload workflows through the binary (issue 17): --files (lists by newline or NUL, from a file or
 * stdin, names that are not UTF-8), --exclude, --exclude-from, --dry-run (the store unchanged byte for byte).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { bundlePaths, cliInput, snapshot, storeWithRepo } from './workflow-helpers.js';

const t = suite('upload workflows: --files, --exclude, --exclude-from, --dry-run');

/** a.txt, b.bin, keep/1..3, skip/x.tmp, logs/app.log, deep/er/z.txt, and a name whose bytes are not UTF-8. */
function sourceTree(): string {
  const src = tempDir('wf-src');
  writeFile(src, 'a.txt', 'alpha');
  writeFile(src, 'b.bin', seededBytes(1, 300_000));
  for (let i = 1; i <= 3; i++) writeFile(src, `keep/${i}.dat`, seededBytes(10 + i, 1000 * i));
  writeFile(src, 'skip/x.tmp', 'temporary');
  writeFile(src, 'logs/app.log', 'log line');
  writeFile(src, 'deep/er/z.txt', 'zed');
  writeFileSync(Buffer.concat([Buffer.from(`${src}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1 name');
  return src;
}

const LATIN1 = 'caf\udce9.txt';

t('--files from a file (newline-separated): exactly the listed files, their directories, and a listed directory whole', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const list = path.join(tempDir('wf-list'), 'list.txt');
  writeFileSync(list, 'a.txt\n./deep/er/z.txt\nkeep/\n\n');
  const r = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--files', list]);
  assert.is(r.code, 0, r.stderr);
  const id = summaryOf(r.stdout).bundle as string;
  assert.equal(bundlePaths(store, id), ['a.txt', 'deep', 'deep/er', 'deep/er/z.txt', 'keep', 'keep/1.dat', 'keep/2.dat', 'keep/3.dat']);
  const dest = path.join(tempDir('wf-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--bundle', id]).code, 0);
  for (const p of ['a.txt', 'deep/er/z.txt', 'keep/1.dat', 'keep/2.dat', 'keep/3.dat']) {
    assert.ok(readFileSync(path.join(dest, p)).equals(readFileSync(path.join(src, p))), p);
  }
});

t('--files - reads a NUL-separated list from stdin; a name that is not UTF-8 is taken by its bytes', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const list = Buffer.concat([Buffer.from('caf'), Buffer.from([0xe9]), Buffer.from('.txt\0logs/app.log\0')]);
  const r = cliInput(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--files', '-'], list);
  assert.is(r.code, 0, r.stderr);
  const id = summaryOf(r.stdout).bundle as string;
  assert.equal(bundlePaths(store, id), [LATIN1, 'logs', 'logs/app.log']);
  const cat = cli(['--store', store, 'bundle', 'files', '--repo', 'r', '--bundle', id]);
  assert.match(cat.stdout, /caf'\$'\\xE9''\.txt/, 'listed with its byte');
});

t('--files naming a missing path, a path outside (..), or one under a symlink: exit 2 naming it, the store unchanged', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  mkdirSync(path.join(tempDir('wf-out'), 'x'), { recursive: true });
  const before = snapshot(store);
  for (const [list, named] of [['a.txt\nnope/missing.txt\n', 'nope/missing.txt'], ['a.txt\n../etc/passwd\n', '../etc/passwd'], ['/etc/passwd\n', '/etc/passwd']]) {
    const r = cliInput(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--files', '-'], list!);
    assert.is(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(named!), r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.match(r.stderr, /^datamover: error: --files /);
  }
  const missingList = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--files', '/nonexistent/list']);
  assert.is(missingList.code, 2);
  assert.match(missingList.stderr, /--files \/nonexistent\/list: cannot read: ENOENT/);
  assert.equal(snapshot(store), before, 'nothing written');
});

t('--exclude (repeatable) and --exclude-from (comments, blank lines): matches and everything under them are left out', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const patterns = path.join(tempDir('wf-pat'), 'exclude.txt');
  writeFileSync(patterns, '# build junk\n\n**/*.tmp\n  logs  \n');
  const r = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--exclude', 'keep/2.dat', '--exclude', 'deep', '--exclude-from', patterns]);
  assert.is(r.code, 0, r.stderr);
  assert.equal(bundlePaths(store, summaryOf(r.stdout).bundle as string), ['a.txt', 'b.bin', LATIN1, 'keep', 'keep/1.dat', 'keep/3.dat', 'skip']);
  const unreadable = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--exclude-from', '/nonexistent/patterns']);
  assert.is(unreadable.code, 2);
  assert.is(unreadable.stderr, 'datamover: error: --exclude-from /nonexistent/patterns: cannot read: ENOENT\n');
});

t('--files with --exclude: the listed paths the globs do not match', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const r = cliInput(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--files', '-', '--exclude', 'keep/1.dat'], 'keep\na.txt\n');
  assert.is(r.code, 0, r.stderr);
  assert.equal(bundlePaths(store, summaryOf(r.stdout).bundle as string), ['a.txt', 'keep', 'keep/2.dat', 'keep/3.dat']);
});

t('--dry-run: files, bytes and new bytes as the upload then stores, and the store unchanged byte for byte', () => {
  const store = storeWithRepo();
  const src = sourceTree();
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--exclude', 'b.bin', '--label', 'l']).code, 0);
  writeFile(src, 'new.bin', seededBytes(77, 200_000));
  const before = snapshot(store);
  const dry = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--dry-run']);
  assert.is(dry.code, 0, dry.stderr);
  const plan = summaryOf(dry.stdout);
  assert.equal(snapshot(store), before, 'the store is byte-for-byte unchanged (no pack, index, page, WAL or read-log object)');
  assert.is(plan.dryRun, true);
  assert.is(plan.newBytes, 500_000, 'b.bin and new.bin are new');
  const real = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(real.code, 0, real.stderr);
  const done = summaryOf(real.stdout);
  for (const k of ['files', 'bytes', 'newBytes', 'dedupBytes', 'unchangedBytes']) assert.is(plan[k], done[k], k);
  const text = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--dry-run']);
  assert.match(text.stdout, /^dry run: would upload \d+ files, \d+ bytes, 0 new .*nothing written\n$/);
});

t.run();
