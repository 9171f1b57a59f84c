/**
 * Garbage collection after forgetting half the bundles: `gc --grace 0` against `restic forget` + `restic prune`
 * on the same files in the same run. The data: `parts` directories of 4 KiB random files (each file one chunk),
 * one bundle (one restic snapshot) per directory, packs kept small (`--pack-size`) so the store has thousands
 * of them, as a store of many small uploads does. The odd parts are forgotten; the timed step reclaims them.
 *
 * Standalone: `node dist/bench/gc.js [--quick | --smoke | --files N] [--runs N] [--data DIR]` (one row on stdout;
 * full mode is 200,000 files, quick 20,000, smoke 2,000; runs default 3).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Measure, arg, cli, median, repoRoot, timed } from './measure.js';
import { Restic, duSize, fresh } from './peers.js';

export interface GcRow { scenario: string; dm: Measure; note: string; peers: [string, Measure][] }

const PARTS = 10;

/** `files` files of 4 KiB in PARTS directories under `root`, seeded; written once. */
export function gcData(root: string, files: number): { dir: string; parts: string[] } {
  const dir = path.join(root, `gc-${files}`);
  const parts = Array.from({ length: PARTS }, (_, p) => path.join(dir, `part-${p}`));
  const marker = path.join(dir, '.bench-marker');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === `gc-v1:${files}`) return { dir, parts };
  fresh(dir)();
  for (let p = 0; p < PARTS; p++) {
    for (let f = 0; f < files / PARTS; f++) {
      const sub = path.join(parts[p]!, `d${f % 100}`);
      if (f < 100) mkdirSync(sub, { recursive: true });
      const data = Buffer.alloc(4096);
      for (let i = 0; i < 4096; i += 32) createHash('sha256').update(`${p}:${f}:${i}`).digest().copy(data, i);
      writeFileSync(path.join(sub, `f${f}.bin`), data);
    }
  }
  writeFileSync(marker, `gc-v1:${files}`);
  return { dir, parts };
}

/**
 * Uploads every part and forgets the odd ones, and backs every part up with restic (all untimed); then `runs`
 * rounds, each timing gc on a fresh copy of the store, then restic forget + prune on a fresh copy of its
 * repository (and cache): the median of each. Interleaved rounds meet the same machine: on a shared VM one
 * run of either swings by ±15 %.
 */
export function gcRows(root: string, work: string, env: NodeJS.ProcessEnv, files: number, runs = 1): GcRow[] {
  const data = gcData(root, files);
  const store = path.join(work, 'gc-store');
  const ids = uploadParts(store, data.parts, env);
  const before = duSize(path.join(store, 'blobs'));
  const packs = Number(timed(process.execPath, [cli, '--store', store, '--json', 'stats'], env).stdout!.trim().split('\n').map((l) => JSON.parse(l)).pop().packs);
  timed(process.execPath, [cli, '--store', store, '--quiet', 'bundle', 'forget', '--repo', 'bench', ...ids.filter((_, i) => i % 2)], env);
  const restic = new Restic(path.join(work, 'gc-restic'));
  const snapshots = backUpParts(restic, data.parts);

  const dmRuns: Measure[] = [];
  const resticRuns: Measure[] = [];
  let after = 0;
  for (let round = 0; round < runs; round++) {
    const copy = copyOf(store, path.join(work, `gc-store-${round}`));
    dmRuns.push(timed(process.execPath, [cli, '--store', copy, '--quiet', 'gc', '--grace', '0'], env));
    after = duSize(path.join(copy, 'blobs'));
    rmSync(copy, { recursive: true, force: true });
    const repo = copyOf(restic.repo, path.join(work, `gc-restic-${round}`));
    copyOf(`${restic.repo}-cache`, `${repo}-cache`);
    resticRuns.push(forgetAndPrune(new Restic(repo), snapshots.filter((_, i) => i % 2)));
    rmSync(repo, { recursive: true, force: true });
    rmSync(`${repo}-cache`, { recursive: true, force: true });
  }
  const gc = median(dmRuns);
  const both = median(resticRuns);
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  const spread = (ms: Measure[]) => ms.length > 1 ? ` (${ms.map((m) => m.seconds.toFixed(2)).join(', ')} s)` : '';
  return [{
    scenario: `gc after forgetting half of ${PARTS} bundles (${files} chunks, ${packs} packs)`, dm: gc, peers: [['restic forget + prune', both]],
    note: `median of ${runs} interleaved runs: datamover${spread(dmRuns)}, restic${spread(resticRuns)}; store ${mib(before)} → ${mib(after)}; `
      + `restic prune peak RSS ${both.rssMiB.toFixed(0)} MiB; goal ≤ 0.5× restic, ≤ 300 MiB`,
  }];
}

/** A new store with one bundle per part; their ids. */
function uploadParts(store: string, parts: string[], env: NodeJS.ProcessEnv): string[] {
  fresh(store)();
  timed(process.execPath, [cli, '--store', store, '--quiet', 'repo', 'create', 'bench'], env);
  return parts.map((part) => {
    const out = timed(process.execPath, [cli, '--store', store, '--json', 'bundle', 'upload', part, '--repo', 'bench', '--pack-size', '256KiB'], env);
    return JSON.parse(out.stdout!.trim().split('\n').pop()!).bundle as string;
  });
}

/** A new restic repository with one snapshot per part; their ids. */
function backUpParts(restic: Restic, parts: string[]): string[] {
  restic.init();
  return parts.map((part) => {
    restic.backup(part);
    const list = timed('restic', ['snapshots', '--json', '--latest', '1'], restic.env);
    return (JSON.parse(list.stdout!) as { short_id: string }[]).pop()!.short_id;
  });
}

/** `dir` copied to `to` (untimed), its writeback done: it would otherwise land in the timed run (run.ts, measure). */
function copyOf(dir: string, to: string): string {
  rmSync(to, { recursive: true, force: true });
  const r = spawnSync('cp', ['-a', dir, to]);
  if (r.status !== 0) throw new Error(`cp -a ${dir} ${to} failed: ${r.stderr}`);
  spawnSync('sync');
  return to;
}

function forgetAndPrune(restic: Restic, snapshots: string[]): Measure {
  const forget = timed('restic', ['forget', ...snapshots], restic.env);
  const prune = timed('restic', ['prune', '--max-unused', '10%'], restic.env);
  return { seconds: forget.seconds + prune.seconds, rssMiB: Math.max(forget.rssMiB, prune.rssMiB) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const mode = process.argv.includes('--smoke') ? 2_000 : process.argv.includes('--quick') ? 20_000 : 200_000;
  const files = Number(arg('--files') ?? mode);
  const work = path.join(os.tmpdir(), `datamover-bench-gc-${process.pid}`);
  mkdirSync(work, { recursive: true });
  try {
    for (const row of gcRows(arg('--data') ?? path.join(repoRoot, 'bench', 'data'), work, { DATAMOVER_HOME: path.join(work, 'home'), DATAMOVER_AUTHOR: 'Bench <bench@example.com>' }, files, Number(arg('--runs') ?? 3))) {
      const [[peer, m]] = row.peers as [[string, Measure]];
      console.log(`${row.scenario}: datamover ${row.dm.seconds.toFixed(2)} s, ${row.dm.rssMiB.toFixed(0)} MiB; ${peer} ${m.seconds.toFixed(2)} s → ${(row.dm.seconds / m.seconds).toFixed(2)}×; ${row.note}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
