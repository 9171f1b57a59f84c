/**
 * `npm run bench [-- --quick | --smoke] [--out FILE] [--data DIR]`: datamover against its peers on the same
 * seeded data in the same run. Each figure is the median of several runs (3 in full mode); every datamover time
 * is printed as a ratio to each peer's. Peak RSS from /usr/bin/time. Full mode writes bench/RESULTS.md.
 * Missing peers are installed with apt-get when root (not in smoke mode, which only uses what is there).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Ceilings, bottleneck, measureCeilings } from './ceilings.js';
import { serveRows } from './serve.js';
import { gcRows } from './gc.js';
import { COMPRESSION_SIZES, compressionRows } from './compression.js';
import { manyFilesRows } from './many-files.js';
import { type DataSet, bigFile, changeOnePercent, copyWithInsert, duplicatedSubtree, smallFiles, sparseFile, warm } from './data.js';
import { type Measure, arg, cli, cloudSection, median, repoRoot, resultsFile, timed } from './measure.js';
import { Restic, cpR, duSize, fresh, have, rcloneCopy } from './peers.js';
import { canMount, findStat, middleRange, sequentialRead, throughMount } from './mount.js';

const mode = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';
let runs = mode === 'full' ? 3 : 1;
const dataRoot = arg('--data') ?? path.join(repoRoot, 'bench', 'data');
const outFile = arg('--out') ?? (mode === 'full' ? resultsFile : undefined);
const work = path.join(os.tmpdir(), `datamover-bench-${process.pid}`);
const peersOk = { rclone: have('rclone', 'rclone', mode !== 'smoke'), restic: have('restic', 'restic', mode !== 'smoke') };

interface Row { data: string; scenario: string; dm: Measure; gibs?: number; note?: string; peers: [string, Measure][] }
const rows: Row[] = [];
const MiB = 2 ** 20;


/**
 * Runs `prepare` (untimed) then `run` (timed) `runs` times; returns the median. Before each timed run the
 * page cache's dirty data goes to disk (`sync`, untimed): here, writeback left by the run before slowed the
 * next one by up to 2× (a 2 GiB `cp` 0.6 s clean, 2.6 s behind 4 GiB of dirty pages).
 */
function measure(prepare: () => void, run: () => Measure): Measure {
  const out: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    prepare();
    spawnSync('sync');
    out.push(run());
  }
  return median(out);
}

/**
 * A new, never used directory under `base` for each run: ext4 creates files slowly next to inodes deleted
 * seconds before (`recently_deleted` took a quarter of a download's kernel time when the target had just been
 * removed), which would charge one tool for the clean-up after another. `clear` removes them all.
 */
function unusedDirs(base: string): { next: () => string; current: () => string; clear: () => void } {
  let n = 0;
  return {
    next: () => { const dir = `${base}-${++n}`; mkdirSync(dir, { recursive: true }); return dir; },
    current: () => `${base}-${n}`,
    clear: () => { for (let i = 1; i <= n; i++) rmSync(`${base}-${i}`, { recursive: true, force: true }); },
  };
}

const dmEnv = { DATAMOVER_HOME: path.join(work, 'home'), DATAMOVER_AUTHOR: 'Bench <bench@example.com>' };
const dm = (store: string, ...args: string[]) => timed(process.execPath, [cli, '--store', store, '--quiet', ...args], dmEnv);
const upload = (store: string, dir: string, ...extra: string[]) => dm(store, 'bundle', 'upload', dir, '--repo', 'bench', '--label', 'latest', ...extra);

let ceilings: Ceilings | undefined;

/** First uploads are judged against the slowest ceiling measured in this run. */
function add(row: Row) {
  if (ceilings && row.scenario === 'first upload' && row.gibs !== undefined) {
    const { gibs, why } = bottleneck(ceilings);
    row.note = [row.note, `${(row.gibs / gibs * 100).toFixed(0)}% of the ceiling ${gibs.toFixed(2)} GiB/s (${why})`].filter(Boolean).join('; ');
  }
  rows.push(row);
  console.log(format(row));
}

function treeScenarios(data: DataSet, opts: { subset?: string; download?: boolean; changed?: boolean } = {}): void {
  warm(data);
  const store = path.join(work, 'dm-store');
  const restic = new Restic(path.join(work, 'restic-repo'));
  const initStore = () => { fresh(store)(); dm(store, 'repo', 'create', 'bench'); };
  const up = measure(initStore, () => upload(store, data.dir));
  const peers: [string, Measure][] = [['cp -r', measure(fresh(path.join(work, 'cp')), () => cpR(data.dir, path.join(work, 'cp', 'out')))]];
  const rcDest = path.join(work, 'rclone-dest');
  if (peersOk.rclone) peers.push(['rclone copy (t8/c8)', measure(fresh(rcDest), () => rcloneCopy(data.dir, rcDest))]);
  if (peersOk.restic) peers.push(['restic backup', measure(() => restic.init(), () => restic.backup(data.dir))]);
  add({ data: data.name, scenario: 'first upload', dm: up, gibs: data.bytes / 2 ** 30 / up.seconds, peers });

  const rerunPeers: [string, Measure][] = [];
  if (peersOk.rclone) rerunPeers.push(['rclone copy no-op', measure(() => undefined, () => rcloneCopy(data.dir, rcDest))]);
  if (peersOk.restic) rerunPeers.push(['restic backup (unchanged)', measure(() => undefined, () => restic.backup(data.dir))]);
  add({ data: data.name, scenario: 'unchanged rerun (file cache)', dm: measure(() => undefined, () => upload(store, data.dir)), peers: rerunPeers });

  if (opts.changed !== false) changedRerun(data, store, restic);
  if (opts.download !== false) downloads(data, store, restic, peers[0]![1], opts.subset);
}

/** 1% of the data changed; both tools back up the same change, then the change is undone (untimed re-baseline). */
function changedRerun(data: DataSet, store: string, restic: Restic): void {
  const dmTimes: Measure[] = [];
  const resticTimes: Measure[] = [];
  for (let round = 0; round < runs; round++) {
    const undo = changeOnePercent(data, round + 1);
    try {
      spawnSync('sync');
      dmTimes.push(upload(store, data.dir));
      spawnSync('sync');
      if (peersOk.restic) resticTimes.push(restic.backup(data.dir));
    } finally {
      undo();
    }
    upload(store, data.dir);
    if (peersOk.restic) restic.backup(data.dir);
  }
  add({ data: data.name, scenario: '1% changed rerun', dm: median(dmTimes), peers: peersOk.restic ? [['restic backup (same change)', median(resticTimes)]] : [] });
}

function downloads(data: DataSet, store: string, restic: Restic, cp: Measure, subset?: string): void {
  const dest = unusedDirs(path.join(work, 'dm-dest'));
  const rsDest = unusedDirs(path.join(work, 'restic-dest'));
  const dmDownload = (...extra: string[]) => dm(store, 'bundle', 'download', path.join(dest.current(), 'out'), '--repo', 'bench', '--label', 'latest', ...extra);
  try {
    const down = measure(dest.next, () => dmDownload());
    const peers: [string, Measure][] = [['cp -r', cp]];
    if (peersOk.restic) peers.push(['restic restore', measure(rsDest.next, () => restic.restore(rsDest.current()))]);
    add({ data: data.name, scenario: 'full download', dm: down, gibs: data.bytes / 2 ** 30 / down.seconds, peers, note: 'synced at the end (`--sync end`); restic does not sync' });
    if (!subset) return;
    const sub = measure(dest.next, () => dmDownload('--include', subset));
    const subPeers: [string, Measure][] = [];
    if (peersOk.restic) subPeers.push(['restic restore --include', measure(rsDest.next, () => restic.restore(rsDest.current(), path.join(data.dir, subset)))]);
    add({ data: data.name, scenario: `subset download (${subset}/, 1%)`, dm: sub, peers: subPeers });
  } finally {
    dest.clear();
    rsDest.clear();
  }
}

/** The big file: first upload against the hash/disk ceiling, an identical copy added, 1% changed. */
function bigFileScenarios(data: DataSet): void {
  treeScenarios(data);
  const store = path.join(work, 'dm-store');
  const restic = new Restic(path.join(work, 'restic-repo'));
  const copy = path.join(data.dir, 'identical-copy.bin');
  const before = duSize(store);
  const resticBefore = peersOk.restic ? restic.size() : 0;
  copyFileSync(path.join(data.dir, 'big.bin'), copy);
  try {
    const dmCopy = upload(store, data.dir);
    const growth = duSize(store) - before;
    const peers: [string, Measure][] = [];
    if (peersOk.restic) peers.push(['restic backup', restic.backup(data.dir)]);
    const resticGrowth = peersOk.restic ? ` (restic +${((restic.size() - resticBefore) / 2 ** 20).toFixed(2)} MiB)` : '';
    add({ data: data.name, scenario: 'identical copy added', dm: dmCopy, note: `store +${(growth / 2 ** 20).toFixed(2)} MiB${resticGrowth}`, peers });
  } finally {
    rmSync(copy, { force: true });
  }
}

/**
 * Content-defined chunking on the big file: first upload to a fastcdc store (throughput against the fixed
 * chunker's row), then the same file with 20 bytes inserted near the start: new bytes stored, fastcdc vs fixed.
 */
function cdcScenarios(data: DataSet): void {
  const shiftedDir = path.join(work, 'shifted');
  mkdirSync(shiftedDir, { recursive: true });
  copyWithInsert(path.join(data.dir, 'big.bin'), path.join(shiftedDir, 'big.bin'), 3_000_000, Buffer.from('twenty bytes, added.'));
  const notes: string[] = [];
  for (const kind of ['fastcdc', 'fixed'] as const) {
    const store = path.join(work, `dm-${kind}`);
    const up = measure(() => { fresh(store)(); dm(store, 'repo', 'create', 'bench', '--chunker', kind); }, () => upload(store, data.dir));
    const second = timed(process.execPath, [cli, '--store', store, '--json', 'bundle', 'upload', shiftedDir, '--repo', 'bench', '--label', 'latest'], dmEnv);
    const newBytes = Number(JSON.parse((second.stdout ?? '').trim().split('\n').pop() ?? '{}').newBytes);
    notes.push(`${kind}: ${(newBytes / data.bytes * 100).toFixed(1)}% new after a 20-byte insert`);
    if (kind === 'fastcdc') add({ data: data.name, scenario: 'first upload, fastcdc store', dm: up, gibs: data.bytes / 2 ** 30 / up.seconds, peers: [] });
  }
  rows.at(-1)!.note = notes.join('; ');
  console.log(`  ${rows.at(-1)!.note}`);
  rmSync(shiftedDir, { recursive: true, force: true });
}

/** Upload only, for memory: the 200k-file tree, the duplicated subtree, a sparse file. */
function uploadOnly(data: DataSet, note: (store: string) => string, peersToo: boolean): void {
  if (data.files > 1) warm(data); // not the sparse file: its holes are never cached
  const store = path.join(work, 'dm-store');
  const up = measure(() => { fresh(store)(); dm(store, 'repo', 'create', 'bench'); }, () => upload(store, data.dir));
  const peers: [string, Measure][] = [];
  if (peersToo && peersOk.restic) {
    const restic = new Restic(path.join(work, 'restic-repo'));
    peers.push(['restic backup', measure(() => restic.init(), () => restic.backup(data.dir))]);
  }
  add({ data: data.name, scenario: 'first upload', dm: up, gibs: data.bytes / 2 ** 30 / up.seconds, note: note(store), peers });
}

/**
 * Read in place (bench/mount.ts), on the store the data's scenarios left: the big file read sequentially
 * through a fresh mount against its `bundle download` row of this run, 1 MiB from its middle; `find` + stat of
 * a tree. The peak RSS column is the reading tool's, not the mount's.
 */
function mountScenarios(data: DataSet, kind: 'big' | 'tree'): void {
  if (!canMount()) return console.log(`  (no mount rows for ${data.name}: needs root and /dev/fuse)`);
  const store = path.join(work, 'dm-store');
  if (kind === 'tree') {
    add({ data: data.name, scenario: 'find + stat through a fresh mount', dm: throughMount(store, work, dmEnv, runs, findStat), peers: [], note: 'manifest pages only; goal ≤ 2 s for 20,000 files' });
    return;
  }
  const file = (dir: string) => path.join(dir, 'big.bin');
  const seq = throughMount(store, work, dmEnv, runs, (dir) => sequentialRead(file(dir)));
  const down = rows.find((r) => r.data === data.name && r.scenario === 'full download')!.dm;
  const share = `${(down.seconds / seq.seconds * 100).toFixed(0)}% of the download's throughput (goal ≥ 70%)`;
  add({ data: data.name, scenario: 'sequential read through a fresh mount', dm: seq, gibs: data.bytes / 2 ** 30 / seq.seconds, peers: [['bundle download (row above)', down]], note: share });
  const first = throughMount(store, work, dmEnv, runs, (dir) => middleRange(file(dir), data.bytes));
  add({ data: data.name, scenario: '1 MiB from the middle, fresh mount', dm: first, peers: [], note: 'first-byte latency: one chunk fetched' });
}

function format(r: Row): string {
  const rate = r.gibs === undefined ? '–' : `${r.gibs.toFixed(2)} GiB/s`;
  const cpu = (m: Measure) => (m.cpuPct === undefined ? '–' : `${m.cpuPct.toFixed(0)}%`);
  const ratios = r.peers.map(([n, m]) => `${n} ${m.seconds.toFixed(2)} s (CPU ${cpu(m)}) → **${(r.dm.seconds / m.seconds).toFixed(2)}×**`).join('; ');
  return `| ${r.data} | ${r.scenario} | ${r.dm.seconds.toFixed(2)} s | ${rate} | ${cpu(r.dm)} | ${r.dm.rssMiB.toFixed(0)} MiB | ${ratios || '–'} | ${r.note ?? ''} |`;
}

const sizes = {
  smoke: { big: 16 * MiB, small: 300, tiny: 2_000, dup: 200, gc: 2_000, many: [200, 1_000] },
  quick: { big: 512 * MiB, small: 5_000, tiny: 20_000, dup: 2_000, gc: 20_000, many: [5_000, 20_000] },
  full: { big: 2048 * MiB, small: 20_000, tiny: 200_000, dup: 20_000, gc: 200_000, many: [20_000, 200_000, 1_000_000] },
}[mode];

mkdirSync(work, { recursive: true });
const header = ['| data | scenario | datamover | throughput | CPU | peak RSS | peers (datamover time ÷ peer time) | notes |', '|---|---|---:|---:|---:|---:|---|---|'];
console.log(header.join('\n'));
try {
  const big = bigFile(dataRoot, sizes.big);
  ceilings = measureCeilings(path.join(big.dir, 'big.bin'), work);
  console.log(`ceilings: ${bottleneck(ceilings).why}`);
  bigFileScenarios(big);
  mountScenarios(big, 'big');
  cdcScenarios(big);
  const small = smallFiles(dataRoot, sizes.small, 64 * 1024);
  treeScenarios(small, { subset: 'd7' });
  mountScenarios(small, 'tree');
  const tiny = smallFiles(dataRoot, sizes.tiny, 4096);
  const fullRuns = runs;
  runs = 1; // 200,000 files: one run of each tool keeps a full bench under half an hour
  treeScenarios(tiny, { download: mode !== 'full', changed: false });
  runs = fullRuns;
  // 1 KiB files at several tree sizes, one run each: peak RSS per phase must stay flat, time per file linear.
  manyFilesRows(dataRoot, path.join(work, 'many'), sizes.many, peersOk.rclone, (row) => add(row));
  const dup = duplicatedSubtree(dataRoot, sizes.dup, 64 * 1024);
  uploadOnly(dup, (store) => {
    const stored = duSize(path.join(store, 'blobs'));
    return `stored ${(stored / MiB).toFixed(1)} MiB for ${(dup.bytes / 2 / MiB).toFixed(1)} MiB unique: **${((stored / (dup.bytes / 2) - 1) * 100).toFixed(2)}%** extra`;
  }, false);
  if (mode === 'full') uploadOnly(sparseFile(dataRoot, 20 * 1024 * MiB), () => 'all-zero chunks: memory must stay flat', false);
  const served = unusedDirs(path.join(work, 'serve-dest'));
  for (const row of await serveRows(big, path.join(work, 'serve-store'), dmEnv, runs, served.next)) add({ data: big.name, ...row });
  served.clear();
  if (peersOk.restic) for (const row of gcRows(dataRoot, work, dmEnv, sizes.gc, runs)) add({ data: `${sizes.gc} × 4 KiB`, ...row });
  for (const row of await compressionRows(dataRoot, work, dmEnv, runs, COMPRESSION_SIZES[mode])) add(row);
} finally {
  rmSync(work, { recursive: true, force: true });
}
const doc = [
  '# Benchmark results', '',
  `${new Date().toISOString().slice(0, 10)}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Node ${process.version}, ${mode} mode, median of ${runs} run(s) (one for the 200,000-file tree), warm page cache, local store and local peers.`,
  '', `Ceilings measured in this run: ${ceilings ? bottleneck(ceilings).why : 'not measured'}. CPU is user + system time over wall time (200% = two cores).`,
  '', ...header, ...rows.map(format), '',
].join('\n');
const cloud = outFile === resultsFile ? cloudSection() : '';
if (outFile) writeFileSync(outFile, cloud ? `${doc}\n${cloud}` : doc);
