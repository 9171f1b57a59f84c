/**
 * Many small files: 1 KiB random files, 1,000 a directory, at several tree sizes (20k, 200k and, in the full
 * run, 1M). For each size: first upload, unchanged rerun (file cache), full download; each with its time, time
 * per file and peak RSS, so memory that grows with the tree shows as RSS that is not flat across sizes. The
 * unchanged rerun is set against `rclone copy`'s no-op copy of the same tree (goal ≤ 1×, ≤ 0.7× at 1M).
 *
 * Alone: `node dist/bench/many-files.js [--sizes 20000,200000] [--no-rclone] [--data DIR]`.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { manyFiles, warm } from './data.js';
import { type Measure, arg, cli, repoRoot, timed } from './measure.js';
import { fresh, have, rcloneCopy } from './peers.js';

export interface ManyRow { data: string; scenario: string; dm: Measure; note: string; peers: [string, Measure][] }

/** One size's three phases (and rclone's copy and no-op copy when `rclone`), in `work`, which it clears. */
function oneSize(dataRoot: string, work: string, count: number, rclone: boolean): ManyRow[] {
  const data = manyFiles(dataRoot, count);
  warm(data);
  const env = { DATAMOVER_HOME: path.join(work, 'home'), DATAMOVER_AUTHOR: 'Bench <bench@example.com>' };
  const store = path.join(work, 'store');
  const dm = (...args: string[]) => { spawnSync('sync'); return timed(process.execPath, [cli, '--store', store, '--quiet', ...args], env); };
  fresh(store)();
  dm('repo', 'create', 'bench');
  const upload = () => dm('bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest');
  const perFile = (m: Measure) => `${(m.seconds / count * 1e6).toFixed(1)} µs/file`;
  const rows: ManyRow[] = [];
  const first = upload();
  rows.push({ data: data.name, scenario: 'first upload', dm: first, note: perFile(first), peers: [] });
  const rerunPeers: [string, Measure][] = [];
  const rcloneDest = path.join(work, 'rclone-dest');
  if (rclone) {
    fresh(rcloneDest)();
    spawnSync('sync');
    rows[0]!.peers.push(['rclone copy (t8/c8)', rcloneCopy(data.dir, rcloneDest)]);
    spawnSync('sync');
    rerunPeers.push(['rclone copy no-op', rcloneCopy(data.dir, rcloneDest)]);
  }
  const rerun = upload();
  rows.push({ data: data.name, scenario: 'unchanged rerun (file cache)', dm: rerun, note: perFile(rerun), peers: rerunPeers });
  const out = path.join(work, `dest-${count}`);
  const down = dm('bundle', 'download', out, '--repo', 'bench', '--label', 'latest');
  rows.push({ data: data.name, scenario: 'full download', dm: down, note: perFile(down), peers: [] });
  // Removed only now: on ext4 without a journal, files created within 30 s of a mass delete search past the
  // freed inodes (`recently_deleted`): removing rclone's copy before the download made it 3× slower (200,000
  // files: 15 s → 45 s, 72 s of kernel time), charging one tool's clean-up to another.
  // The same holds for the next size's first copies: they start once the freed inodes are 30 s old.
  for (const dir of [rcloneDest, out, store]) rmSync(dir, { recursive: true, force: true });
  spawnSync('sync');
  spawnSync('sleep', ['31']);
  return rows;
}

/**
 * Every size's rows, then, on the largest size's rows, how flat its peak RSS is against the smallest's (goal:
 * within 15%) and its time per file against the second largest's (goal ≤ 1.1×: linear).
 */
export function manyFilesRows(dataRoot: string, work: string, sizes: number[], rclone: boolean, log: (row: ManyRow) => void = () => undefined): ManyRow[] {
  mkdirSync(work, { recursive: true });
  const bySize = new Map<number, ManyRow[]>();
  for (const count of [...sizes].sort((a, b) => a - b)) {
    const rows = oneSize(dataRoot, work, count, rclone);
    bySize.set(count, rows);
    const smallest = bySize.values().next().value!;
    const before = [...bySize.values()].at(-2);
    rows.forEach((row, i) => {
      if (bySize.size > 1) row.note += `; RSS ${(row.dm.rssMiB / smallest[i]!.dm.rssMiB).toFixed(2)}× the smallest tree's`;
      if (before && bySize.size > 1) {
        const ratio = (row.dm.seconds / count) / (before[i]!.dm.seconds / [...bySize.keys()].at(-2)!);
        row.note += `; ${ratio.toFixed(2)}× the time per file of the next smaller tree`;
      }
      log(row);
    });
  }
  return [...bySize.values()].flat();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = (arg('--sizes') ?? '20000,200000').split(',').map(Number);
  const work = path.join(os.tmpdir(), `datamover-many-${process.pid}`);
  const rclone = !process.argv.includes('--no-rclone') && have('rclone', 'rclone', false);
  try {
    manyFilesRows(arg('--data') ?? path.join(repoRoot, 'bench', 'data'), work, sizes, rclone, (r) => {
      const peers = r.peers.map(([n, m]) => `${n} ${m.seconds.toFixed(2)} s → ${(r.dm.seconds / m.seconds).toFixed(2)}×`).join('; ');
      console.log(`| ${r.data} | ${r.scenario} | ${r.dm.seconds.toFixed(2)} s | ${r.dm.rssMiB.toFixed(0)} MiB | ${peers || '–'} | ${r.note} |`);
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
