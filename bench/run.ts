/**
 * `npm run bench [-- --quick]`: datamover against peers on the same data in the same run. Each figure is the
 * median of several runs; datamover's time is printed as a ratio to each peer's. Peak RSS from /usr/bin/time.
 * Results go to bench/RESULTS.md. Peers missing from the machine are installed with apt-get when root.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type DataSet, bigFile, smallFiles } from './data.js';
import { type Measure, cli, repoRoot, timed } from './measure.js';

const quick = process.argv.includes('--quick');
const runs = quick ? 1 : 3;
const dataRoot = path.join(repoRoot, 'bench', 'data');
const work = path.join(os.tmpdir(), 'datamover-bench');

function median(xs: Measure[]): Measure {
  const s = [...xs].sort((a, b) => a.seconds - b.seconds);
  return s[Math.floor(s.length / 2)];
}

function have(cmd: string): boolean {
  if (spawnSync('which', [cmd]).status === 0) return true;
  if (process.getuid?.() !== 0) return false;
  spawnSync('apt-get', ['install', '-y', '-qq', cmd], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return spawnSync('which', [cmd]).status === 0;
}

/** Runs `prepare` (untimed) then `run` (timed) `runs` times; returns the median. */
function measure(prepare: () => void, run: () => Measure): Measure {
  const out: Measure[] = [];
  for (let i = 0; i < runs; i++) { prepare(); out.push(run()); }
  return median(out);
}

const fresh = (dir: string) => () => { rmSync(dir, { recursive: true, force: true }); mkdirSync(dir, { recursive: true }); };
const dm = (store: string, ...args: string[]) => timed(process.execPath, [cli, '--store', store, '--quiet', ...args]);

function scenarios(data: DataSet): string[] {
  const store = path.join(work, 'dm-store');
  const rows: string[] = [];
  const initStore = () => { fresh(store)(); dm(store, 'repo', 'create', 'bench'); };
  const up = measure(initStore, () => dm(store, 'bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest'));
  // A rerun as a cron backup does it: to the same label, so unchanged files come from the file cache.
  const rerun = measure(() => undefined, () => dm(store, 'bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest'));
  const rehash = measure(() => undefined, () => dm(store, 'bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest', '--rehash'));
  const dest = path.join(work, 'dm-dest');
  const down = measure(fresh(dest), () => dm(store, 'bundle', 'download', path.join(dest, 'out'), '--repo', 'bench', '--label', 'latest'));
  const peers: [string, Measure][] = [];
  const peerReruns: [string, Measure][] = [];
  const cpDest = path.join(work, 'cp-dest');
  peers.push(['cp -r', measure(fresh(cpDest), () => timed('cp', ['-r', data.dir, path.join(cpDest, 'out')]))]);
  if (have('rclone')) {
    const rc = path.join(work, 'rclone-dest');
    const copy = () => timed('rclone', ['copy', '--transfers', '8', '--checkers', '8', data.dir, rc]);
    peers.push(['rclone copy (t8/c8)', measure(fresh(rc), copy)]);
    peerReruns.push(['rclone copy no-op', measure(() => undefined, copy)]);
  }
  if (have('restic')) {
    const rs = path.join(work, 'restic-repo');
    const env = { RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: rs };
    const backup = () => timed('restic', ['backup', '-q', data.dir], env);
    peers.push(['restic backup', measure(() => { fresh(rs)(); timed('restic', ['init', '-q'], env); }, backup)]);
    peerReruns.push(['restic backup (unchanged)', measure(() => undefined, backup)]);
  }
  const gib = data.bytes / 2 ** 30;
  const ratios = (t: number, list: [string, Measure][]) => list.map(([n, m]) => `${n} ${m.seconds.toFixed(2)} s → **${(t / m.seconds).toFixed(2)}×**`).join('; ');
  rows.push(`| ${data.name} | first upload | ${up.seconds.toFixed(2)} s | ${(gib / up.seconds).toFixed(2)} GiB/s | ${up.rssMiB.toFixed(0)} MiB | ${ratios(up.seconds, peers)} |`);
  rows.push(`| ${data.name} | unchanged rerun (file cache) | ${rerun.seconds.toFixed(2)} s | – | ${rerun.rssMiB.toFixed(0)} MiB | ${ratios(rerun.seconds, peerReruns)} |`);
  rows.push(`| ${data.name} | unchanged rerun --rehash (read, hash, dedup) | ${rehash.seconds.toFixed(2)} s | – | ${rehash.rssMiB.toFixed(0)} MiB | |`);
  rows.push(`| ${data.name} | full download | ${down.seconds.toFixed(2)} s | ${(gib / down.seconds).toFixed(2)} GiB/s | ${down.rssMiB.toFixed(0)} MiB | cp -r ${peers[0][1].seconds.toFixed(2)} s → **${(down.seconds / peers[0][1].seconds).toFixed(2)}×** |`);
  for (const r of rows) console.log(r);
  return rows;
}

mkdirSync(work, { recursive: true });
const sets = quick ? [bigFile(dataRoot, 512 * 2 ** 20), smallFiles(dataRoot, 5_000, 64 * 1024)] : [bigFile(dataRoot, 2 * 2 ** 30), smallFiles(dataRoot, 20_000, 64 * 1024)];
const header = ['| data | scenario | datamover | throughput | peak RSS | peers (datamover time ÷ peer time) |', '|---|---|---:|---:|---:|---|'];
console.log(header.join('\n'));
const rows = sets.flatMap(scenarios);
const doc = [`# Benchmark results`, '', `${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${quick ? 'quick' : 'full'} mode, median of ${runs} run(s), warm page cache, local store.`, '', ...header, ...rows, ''].join('\n');
if (!quick) writeFileSync(path.join(repoRoot, 'bench', 'RESULTS.md'), doc);
rmSync(work, { recursive: true, force: true });
