/**
 * `--files` and `--exclude` on shard uploads (datamon's `split add --files`): each pod owns a list or a folder,
 * the commit merges them, and two shards that claim one path are refused with nothing committed.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { startSession } from './session-helpers.js';
import { bundlePaths, cliInput, storeWithRepo } from './workflow-helpers.js';

const t = suite('sessions with --files and --exclude');

function sourceTree(): string {
  const src = tempDir('ss-src');
  for (let i = 0; i < 6; i++) writeFile(src, `data/a/${i}.bin`, seededBytes(i, 5000 + i));
  for (let i = 0; i < 6; i++) writeFile(src, `data/b/${i}.bin`, seededBytes(50 + i, 7000 + i));
  writeFile(src, 'data/readme.txt', 'hello');
  writeFile(src, 'scratch/x.tmp', 'junk');
  return src;
}

const shard = (store: string, src: string, session: string, i: number, list: string, extra: string[] = []) =>
  cliInput(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', `${i}/2`, '--files', '-', ...extra], list);

t('two pods each with its own list (a folder; files): the committed bundle is the union, byte for byte', () => {
  const store = storeWithRepo('ss-store');
  const src = sourceTree();
  const session = startSession(store);
  const a = shard(store, src, session, 0, 'data/a\n');
  const b = shard(store, src, session, 1, 'data/b/0.bin\ndata/b/1.bin\ndata/readme.txt\n');
  assert.is(a.code, 0, a.stderr);
  assert.is(b.code, 0, b.stderr);
  assert.is(summaryOf(a.stdout).files, 6, 'a shard with a list takes exactly it, not its path-hash share');
  const commit = cli(['--store', store, '--json', 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'split']);
  assert.is(commit.code, 0, commit.stderr);
  assert.equal(bundlePaths(store, session), [
    'data', 'data/a', ...[0, 1, 2, 3, 4, 5].map((i) => `data/a/${i}.bin`), 'data/b', 'data/b/0.bin', 'data/b/1.bin', 'data/readme.txt',
  ]);
  const dest = path.join(tempDir('ss-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'split']).code, 0);
  assert.is(cli(['--store', store, 'bundle', 'verify', '--repo', 'r', '--label', 'split']).code, 0);
});

t('--exclude on hash shards: every shard leaves the matches out', () => {
  const store = storeWithRepo('ss-store');
  const src = sourceTree();
  const session = startSession(store);
  for (const i of [0, 1]) {
    const r = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', `${i}/2`, '--exclude', 'scratch', '--exclude', 'data/b']);
    assert.is(r.code, 0, r.stderr);
  }
  assert.is(cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session]).code, 0);
  assert.equal(bundlePaths(store, session), ['data', 'data/a', ...[0, 1, 2, 3, 4, 5].map((i) => `data/a/${i}.bin`), 'data/readme.txt']);
});

t('two shards claiming one file: commit refuses in one line naming it, exit 1, nothing committed', () => {
  const store = storeWithRepo('ss-store');
  const src = sourceTree();
  const session = startSession(store);
  assert.is(shard(store, src, session, 0, 'data/a\ndata/readme.txt\n').code, 0);
  assert.is(shard(store, src, session, 1, 'data/b\ndata/readme.txt\n').code, 0);
  const commit = cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'split']);
  assert.is(commit.code, 1);
  assert.is(commit.stderr, 'datamover: error: data/readme.txt is claimed by shards 0 and 1: each path must be in one shard only\n');
  assert.is(cli(['--store', store, 'label', 'get', 'split', '--repo', 'r']).code, 1, 'no label');
  assert.is(summaryOf(cli(['--store', store, '--json', 'bundle', 'list', '--repo', 'r']).stdout).bundles.length, 0, 'no bundle');
});

t.run();
