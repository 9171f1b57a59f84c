/**
 * SIGKILL at seeded moments of a gc (docs/gc.md, "What a crash leaves"): after each kill the store is
 * fsck --read-data clean and every kept bundle downloads byte for byte; a rerun of gc then completes.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStorage } from '../engine/storage/open.js';
import { cli, cliAsync, seededBytes, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { MiB, assertBundlesWhole, forgetBundle, openLocal, packBytes, rng } from './gc-helpers.js';

const KILLS = Number(process.env.DATAMOVER_TEST_GC_KILLS ?? process.env.DATAMOVER_TEST_KILLS ?? 30);
const SEED = Number(process.env.DATAMOVER_TEST_KILL_SEED ?? 20261202);
const STARTUP_MS = 150;

const t = suite('gc: SIGKILL at any moment leaves a consistent store; the rerun completes');

/** 10 bundles in 1 MiB packs, each with 2 MiB of its own and a 1 MiB file shared by its neighbour; 5 forgotten. */
async function template(): Promise<{ root: string; kept: Map<string, string> }> {
  const root = path.join(tempDir('gck-t'), 'store');
  const store = await openLocal(root, true);
  await store.createRepo('r', { contributor: who });
  const kept = new Map<string, string>();
  const storage = openStorage(root);
  for (let i = 0; i < 10; i++) {
    const src = tempDir(`gck-src${i}`);
    writeFile(src, `own-${i}.bin`, seededBytes(500 + i, 2 * MiB + i));
    writeFile(src, `shared-${i >> 1}.bin`, seededBytes(900 + (i >> 1), MiB + 3));
    for (let f = 0; f < 20; f++) writeFile(src, `small/${f}.txt`, `bundle ${i} file ${f}\n`);
    const up = await store.repo('r').upload({ source: src, contributor: who, tuning: { packSize: MiB, partSize: MiB } });
    if (i % 2) await forgetBundle(storage, 'r', up.bundle.id);
    else kept.set(up.bundle.id, src);
  }
  return { root, kept };
}

t(`SIGKILL at ${KILLS} seeded moments of gc --grace 0 (seed ${SEED})`, async () => {
  const base = await template();
  const random = rng(SEED);
  const work = path.join(tempDir('gck'), 'store');
  const gc = () => cliAsync(['--store', work, 'gc', '--grace', '0', '--max-unused', '10%']);
  const restore = () => { rmSync(work, { recursive: true, force: true }); cpSync(base.root, work, { recursive: true }); };
  restore();
  const started = Date.now();
  const calibration = gc();
  assert.is(await new Promise((resolve) => calibration.on('exit', resolve)), 0);
  const duration = Date.now() - started;
  const moments: number[] = [];
  let midRun = 0;
  for (let k = 1; k <= KILLS; k++) {
    restore();
    // Half the kills hit a store a killed gc already worked on: a crash after a crash.
    if (k % 2 === 0) {
      const first = gc();
      const done = new Promise((resolve) => first.on('exit', resolve));
      await Promise.race([sleep(STARTUP_MS + random() * duration), done]);
      first.kill('SIGKILL');
      await done;
    }
    const child = gc();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const moment = Math.floor(STARTUP_MS + random() * Math.max(0, duration - STARTUP_MS));
    moments.push(moment);
    await Promise.race([sleep(moment), exited]);
    child.kill('SIGKILL');
    if ((await exited) !== 0) midRun++;
    await assertBundlesWhole(await openLocal(work), 'r', base.kept).catch((err: Error) => {
      throw new Error(`after the kill at ${moment} ms (kill ${k}): ${err.message}`);
    });
  }
  console.log(`  a gc takes ${duration} ms; kills at ${moments.join(', ')} ms; ${midRun} landed mid-run`);
  assert.ok(midRun >= KILLS / 2, `most kills landed mid-run (${midRun})`);
  const rerun = cli(['--store', work, '--json', 'gc', '--grace', '0']);
  assert.is(rerun.code, 0, rerun.stderr);
  const after = cli(['--store', work, '--json', 'gc', '--grace', '0', '--dry-run']);
  assert.is(summaryOf(after.stdout).reclaimableBytes, 0, 'the rerun completed the job');
  assert.ok(packBytes(work) < packBytes(base.root) - 5 * 2 * MiB, 'the forgotten bundles\' own bytes are gone');
  await assertBundlesWhole(await openLocal(work), 'r', base.kept);
});

t.run();
