/**
 * `fsck --repair-index` through the binary: packs carry a trailer listing their blobs, so the index can be
 * rebuilt from them — after a damaged index object, and for the orphan packs of a killed upload.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { killAfterPacks } from './kill-helpers.js';

const t = suite('fsck --repair-index: the index rebuilt from the packs');

function tree(tag: string, seed: number, files: number, size: number): string {
  const src = tempDir(tag);
  for (let i = 0; i < files; i++) writeFile(src, `d${i % 4}/f${i}.bin`, seededBytes(seed + i, size + i));
  return src;
}

const indexObjects = (store: string) => readdirSync(path.join(store, 'blobs/index')).map((name) => path.join(store, 'blobs/index', name));

t('a flipped byte in an index object: fsck names it (exit 4); --repair-index reindexes its packs and removes it; fsck is clean; both bundles round-trip', () => {
  const store = tempDir('repair-store');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const trees = [tree('repair-a', 100, 12, 300_000), tree('repair-b', 200, 12, 300_000)];
  for (const [n, src] of trees.entries()) {
    const up = run('bundle', 'upload', src, '--repo', 'r', '--label', `l${n}`, '--pack-size', '1MiB');
    assert.is(up.code, 0, up.stderr);
  }
  const objects = indexObjects(store);
  assert.ok(objects.length >= 2, `${objects.length} index objects`);
  const victim = objects[0]!;
  const bytes = readFileSync(victim);
  bytes[Math.floor(bytes.length / 2)] ^= 0x40;
  writeFileSync(victim, bytes);
  const victimKey = `blobs/index/${path.basename(victim)}`;

  const broken = run('fsck');
  assert.is(broken.code, 4, broken.stdout + broken.stderr);
  assert.ok(broken.stdout.includes(`index object ${victimKey}\tdamaged`), broken.stdout);

  const repaired = run('--json', 'fsck', '--repair-index');
  assert.is(repaired.code, 0, repaired.stdout + repaired.stderr);
  const lines = repaired.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; packs?: number; key?: string });
  const reindexed = lines.find((l) => l.type === 'reindexed')!;
  assert.ok(reindexed.packs! >= 1, JSON.stringify(reindexed));
  assert.equal(lines.filter((l) => l.type === 'removed').map((l) => l.key), [victimKey]);
  assert.is(summaryOf(repaired.stdout).orphanPacks, 0);

  const clean = run('fsck', '--read-data');
  assert.is(clean.code, 0, clean.stdout + clean.stderr);
  for (const [n, src] of trees.entries()) {
    const dest = tempDir(`repair-dest-${n}`);
    const down = run('bundle', 'download', dest, '--repo', 'r', '--label', `l${n}`);
    assert.is(down.code, 0, down.stderr);
    assert.equal(describeTree(dest), describeTree(src));
  }
});

t('the orphan packs of a killed upload: fsck notes them with their bytes (exit 0); --repair-index indexes them; the rerun reuses them', async () => {
  const store = tempDir('orphan-store');
  const run = (...args: string[]) => cli(['--store', store, ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const fileSize = 3 * 1024 * 1024 + 17;
  const src = tree('orphan-src', 700, 40, fileSize);
  const total = 40 * fileSize + (40 * 39) / 2;
  // Killed on the second pack's event: the first pack's checkpoint may have landed, the second's cannot have.
  const killed = await killAfterPacks(['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src,
    '--repo', 'r', '--label', 'l', '--pack-size', '4MiB', '--budget', '16MiB'], 2);
  assert.is(killed.code, null, 'killed before it finished');

  const noted = run('--json', 'fsck');
  assert.is(noted.code, 0, noted.stdout + noted.stderr);
  const before = summaryOf(noted.stdout);
  assert.ok(before.orphanPacks >= 1, `orphans: ${noted.stdout}`);
  assert.ok(before.orphanBytes >= killed.landedBytes / killed.packs, `orphan bytes ${before.orphanBytes}`);
  assert.ok(noted.stdout.includes('"type":"note"') && noted.stdout.includes('in no index'), noted.stdout);

  const repaired = run('--json', 'fsck', '--repair-index');
  assert.is(repaired.code, 0, repaired.stdout + repaired.stderr);
  const reindexed = repaired.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; packs?: number }).find((l) => l.type === 'reindexed')!;
  assert.is(reindexed.packs, before.orphanPacks);
  assert.is(summaryOf(repaired.stdout).orphanPacks, 0);

  const rerun = run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l');
  assert.is(rerun.code, 0, rerun.stderr);
  const summary = summaryOf(rerun.stdout);
  assert.ok(summary.newBytes <= total - killed.landedBytes, `${summary.newBytes} new of ${total}; ${killed.landedBytes} landed`);
  const dest = tempDir('orphan-dest');
  assert.is(run('bundle', 'download', dest, '--repo', 'r', '--label', 'l').code, 0);
  assert.equal(describeTree(dest), describeTree(src));
  assert.is(run('fsck', '--read-data').code, 0);
});

t.run();
