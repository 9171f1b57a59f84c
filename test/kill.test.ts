import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAsync, describeTree, rng, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { killAfterPacks } from './kill-helpers.js';

const t = suite('crash: a killed upload');

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

for (const landed of [1, 3]) {
  t(`SIGKILL after ${landed} durable pack(s) leaves no bundle; the rerun reuses every landed byte and round-trips`, async () => {
    const store = tempDir('kill-store');
    assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
    const src = tempDir('kill-src');
    const fileSize = 3 * 1024 * 1024 + 17;
    for (let i = 0; i < 60; i++) writeFile(src, `f${String(i).padStart(3, '0')}.bin`, seededBytes(500 + i, fileSize));
    const total = 60 * fileSize;

    const killed = await killAfterPacks(['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src,
      '--repo', 'r', '--label', 'latest', '--pack-size', '4MiB', '--budget', '16MiB'], landed);
    assert.is(killed.code, null, 'killed before it finished (raise the data size if this machine is faster)');
    assert.ok(killed.packs >= landed, `${killed.packs} packs landed`);

    assert.is(countFiles(path.join(store, 'meta/repos/r/labels')), 0, 'no label');
    const bundles = path.join(store, 'meta/repos/r/bundles');
    const descriptors = existsSync(bundles) ? readdirSync(bundles).filter((id) => existsSync(path.join(bundles, id, 'bundle.json'))) : [];
    assert.equal(descriptors, [], 'no visible bundle');
    assert.ok(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout.trim() === '', 'bundle list is empty');

    const rerun = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest']);
    assert.is(rerun.code, 0, rerun.stderr);
    const summary = summaryOf(rerun.stdout);
    assert.is(summary.bytes, total);
    assert.ok(summary.newBytes <= total - killed.landedBytes,
      `rerun reused what landed: ${summary.newBytes} new of ${total}, ${killed.landedBytes} landed in ${killed.packs} packs`);
    const check = cli(['--store', store, 'fsck', '--read-data']);
    assert.is(check.code, 0, check.stdout + check.stderr);
    const dest = tempDir('kill-dest');
    assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'latest']).code, 0);
    assert.equal(describeTree(dest), describeTree(src));
  });
}

t('staged writes a killed upload leaves in the local store are removed by fsck --abort-stale-uploads', async () => {
  const store = tempDir('stale-local');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const src = tempDir('stale-local-src');
  writeFile(src, 'big.bin', seededBytes(31, 200 * 1024 * 1024));
  const child = cliAsync(['--store', store, '--workers', '1', 'bundle', 'upload', src, '--repo', 'r']);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const staged = () => (existsSync(path.join(store, '.tmp')) ? readdirSync(path.join(store, '.tmp'), { withFileTypes: true }).filter((e) => e.isFile()).length : 0);
  const deadline = Date.now() + 30_000;
  while (staged() === 0 && Date.now() < deadline) await sleep(2);
  child.kill('SIGKILL');
  await exited;
  const left = staged();
  assert.ok(left > 0, 'the kill left a staged write');
  const young = cli(['--store', store, '--json', 'fsck', '--abort-stale-uploads', '1h']);
  assert.is(young.code, 0, young.stderr);
  assert.is(staged(), left, 'younger than the age: kept');
  assert.is(summaryOf(young.stdout).pendingUploads.count, left, 'fsck counts the staged writes');
  // Files only, as `staged` counts: `.tmp/locks/` (the CAS locks, e.g. of the WAL chain head) is not a staged write.
  const stagedBytes = readdirSync(path.join(store, '.tmp'), { withFileTypes: true }).filter((e) => e.isFile())
    .reduce((n, e) => n + statSync(path.join(store, '.tmp', e.name)).size, 0);
  assert.is(summaryOf(young.stdout).pendingUploads.bytes, stagedBytes);
  const text = cli(['--store', store, 'fsck']);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`note\tunfinished uploads\t${left}, ${stagedBytes} bytes staged`));
  await sleep(20);
  const old = cli(['--store', store, '--json', 'fsck', '--abort-stale-uploads', '10ms']);
  assert.is(old.code, 0, old.stderr);
  assert.is(summaryOf(old.stdout).abortedUploads, left);
  assert.is(staged(), 0);
  assert.is(summaryOf(cli(['--store', store, '--json', 'fsck']).stdout).pendingUploads.count, 0);
  assert.is(cli(['--store', store, 'fsck', '--abort-stale-uploads', 'soon']).code, 2, 'a bad age is a usage error');
});

t('two uploads to the same repo at once (shared data, different labels) both commit; fsck is clean; both round-trip', async () => {
  const store = tempDir('twin-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const trees = [tempDir('twin-a'), tempDir('twin-b')];
  for (const [n, dir] of trees.entries()) {
    for (let i = 0; i < 4; i++) writeFile(dir, `shared/f${i}.bin`, seededBytes(70 + i, 3 * 1024 * 1024)); // the same in both
    for (let i = 0; i < 4; i++) writeFile(dir, `own/f${i}.bin`, seededBytes(100 * n + i, 3 * 1024 * 1024));
  }
  const runs = trees.map((dir, n) => {
    const child = cliAsync(['--store', store, '--quiet', 'bundle', 'upload', dir, '--repo', 'r', '--label', `l${n}`, '--pack-size', '4MiB']); // a slow machine prints plain progress lines
    let err = '';
    child.stderr.on('data', (c: Buffer) => { err += c; });
    return new Promise<string>((resolve) => child.on('exit', (code) => resolve(`${code} ${err}`)));
  });
  assert.equal(await Promise.all(runs), ['0 ', '0 ']);
  const check = cli(['--store', store, 'fsck', '--read-data']);
  assert.is(check.code, 0, check.stdout + check.stderr);
  for (const [n, dir] of trees.entries()) {
    const dest = tempDir(`twin-dest-${n}`);
    assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', `l${n}`]).code, 0);
    assert.equal(describeTree(dest), describeTree(dir));
  }
});

const STARTUP_MS = 120;
const KILLS = Number(process.env.DATAMOVER_TEST_KILLS ?? 30);
const KILL_SEED = Number(process.env.DATAMOVER_TEST_KILL_SEED ?? 20261124);

t(`SIGKILL at ${KILLS} seeded random moments (seed ${KILL_SEED}): after each, fsck finds the store consistent; the last rerun completes and round-trips`, async () => {
  const store = tempDir('kills-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const src = tempDir('kills-src');
  for (let i = 0; i < 6; i++) writeFile(src, `big/f${i}.bin`, seededBytes(900 + i, 5 * 1024 * 1024 + i));
  for (let i = 0; i < 400; i++) writeFile(src, `small/d${i % 20}/s${i}.txt`, seededBytes(2000 + i, 1000 + i));
  const random = rng(KILL_SEED);
  const upload = (label: string) => cliAsync(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', label,
    '--pack-size', '2MiB', '--budget', '16MiB', '--workers', '1', '--concurrency', '1', '--rehash']);
  const fresh = (k: number) => { for (let i = 0; i < 6; i++) writeFile(src, `big/f${i}.bin`, seededBytes(10_000 * k + i, 5 * 1024 * 1024 + i)); };
  // Calibrate: kill moments spread over one whole upload of this machine (new data every time).
  fresh(0);
  const started = Date.now();
  const calibration = upload('even');
  assert.is(await new Promise((resolve) => calibration.on('exit', resolve)), 0);
  const duration = Date.now() - started;
  const moments: number[] = [];
  let completed = 0;
  for (let k = 1; k <= KILLS; k++) {
    fresh(k);
    // Alternate the label, so kills land in label moves of a store that already has bundles, too.
    const child = upload(k % 2 ? 'odd' : 'even');
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const moment = Math.floor(STARTUP_MS + random() * Math.max(0, duration - STARTUP_MS)); // not in Node's start-up
    moments.push(moment);
    await Promise.race([sleep(moment), exited]);
    child.kill('SIGKILL');
    if ((await exited) === 0) completed++;
    const check = cli(['--store', store, 'fsck']);
    assert.is(check.code, 0, `after the kill at ${moment} ms (kill ${k}): ${check.stdout}${check.stderr}`);
  }
  console.log(`  an upload takes ${duration} ms; kills at ${moments.join(', ')} ms; ${KILLS - completed} landed mid-upload, ${completed} after it finished`);
  assert.ok(KILLS - completed >= KILLS / 2, 'most kills landed mid-upload');
  const rerun = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'final']);
  assert.is(rerun.code, 0, rerun.stderr);
  const last = summaryOf(rerun.stdout);
  assert.ok(last.newBytes <= 6 * (5 * 1024 * 1024 + 5), `the rerun reused what landed: ${last.newBytes} new bytes`);
  const full = cli(['--store', store, 'fsck', '--read-data']);
  assert.is(full.code, 0, full.stdout + full.stderr);
  const dest = tempDir('kills-dest');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'final']).code, 0);
  assert.equal(describeTree(dest), describeTree(src));
});

t.run();
