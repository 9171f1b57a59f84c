/** `repo stats` and `stats`: counts and bytes of known trees, unique chunks counted once per repo and store. */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('stats');

t('repo stats and stats count bundles, files, logical and unique stored bytes, and the dedup ratio', () => {
  const store = path.join(tempDir('stats'), 'store');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  const a = tempDir('stats-a');
  writeFile(a, 'big.bin', seededBytes(1, 300_000));
  writeFile(a, 'small.bin', seededBytes(2, 1_000));
  writeFile(a, 'empty', '');
  const b = tempDir('stats-b');
  writeFile(b, 'big.bin', seededBytes(1, 300_000));
  writeFile(b, 'other.bin', seededBytes(3, 5_000));
  for (const repo of ['a', 'b']) assert.is(run('repo', 'create', repo).code, 0);
  for (const [repo, src] of [['a', a], ['a', a], ['b', b]] as const) assert.is(run('bundle', 'upload', src, '--repo', repo).code, 0);
  const ra = run('--json', 'repo', 'stats', 'a');
  assert.is(ra.code, 0, ra.stderr);
  const sa = summaryOf(ra.stdout);
  assert.equal([sa.repo, sa.bundles, sa.files, sa.logicalBytes, sa.chunks, sa.storedBytes, sa.dedupRatio, sa.unindexedChunks],
    ['a', 2, 6, 602_000, 2, 301_000, 2, 0]);
  assert.not.ok('reclaimableBytes' in sa);
  const all = summaryOf(run('--json', 'stats').stdout);
  assert.equal([all.bundles, all.files, all.logicalBytes, all.chunks, all.storedBytes], [3, 8, 907_000, 3, 306_000]);
  assert.is(all.dedupRatio, 907_000 / 306_000);
  assert.equal(all.repos.map((r: { repo: string; storedBytes: number }) => [r.repo, r.storedBytes]), [['a', 301_000], ['b', 305_000]]);
  assert.ok(all.packs >= 1 && all.packBytes >= 306_000);
  const text = run('repo', 'stats', 'b');
  assert.is(text.stdout.trim(), 'repo b: 1 bundles, 2 files, 305000 bytes logical, 305000 bytes stored (2 chunks), dedup 1.00x');
  assert.is(run('repo', 'stats', 'nosuch').code, 1);
  // Forgetting a bundle is seen at once; the chunks it shared stay counted by the bundle still using them.
  assert.is(run('bundle', 'forget', 'latest', '--repo', 'a').code, 0);
  const after = summaryOf(run('--json', 'repo', 'stats', 'a').stdout);
  assert.equal([after.bundles, after.logicalBytes, after.storedBytes, after.dedupRatio], [1, 301_000, 301_000, 1]);
});

t.run();
