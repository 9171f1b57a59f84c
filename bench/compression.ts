/**
 * Compression rows: a seeded text-like tree (bench/text-corpus.ts: source, CSV, JSON, logs) uploaded to repos of
 * each `--compression` level and backed up by restic (zstd by default), stored size as a share of the data and
 * throughput against compression off; then random data (the big file) with compression on against off, which
 * the sample test must keep within a few percent. CPU use (user + system ÷ wall) and two ceilings measured in
 * the same run are printed: SHA-256 and zstd level 3 per core, on the same text.
 *
 * Standalone: `node dist/bench/compression.js [--quick | --smoke] [--data DIR]` (rows on stdout).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { Encoder } from '@toondepauw/node-zstd';
import { type DataSet, bigFile } from './data.js';
import { type Measure, arg, cli, repoRoot, timed } from './measure.js';
import { Restic, duSize, fresh, have } from './peers.js';
import { textBytes, writeTextTree } from './text-corpus.js';

export interface CompressionRow { data: string; scenario: string; dm: Measure; gibs?: number; note: string; peers: [string, Measure][] }

const MiB = 2 ** 20;

/** The text tree of `bytes`, written once under `root` (kept while its marker matches). */
export function textTree(root: string, bytes: number): DataSet {
  const dir = path.join(root, `text-${bytes}`);
  const marker = path.join(dir, '.bench-marker');
  let files = 0;
  if (existsSync(marker) && readFileSync(marker, 'utf8').startsWith(`text-v1:${bytes}:`)) {
    files = Number(readFileSync(marker, 'utf8').split(':')[2]);
  } else {
    fresh(dir)();
    files = writeTextTree(dir, 1, bytes);
    writeFileSync(marker, `text-v1:${bytes}:${files}`);
  }
  return { name: `text tree ${(bytes / MiB).toFixed(0)} MiB (${files} files)`, dir, bytes, files };
}

/** Median of `runs` timed runs, each after `prepare` and a `sync`. */
function measure(runs: number, prepare: () => void, run: () => Measure): Measure {
  const out: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    prepare();
    spawnSync('sync');
    out.push(run());
  }
  return out.sort((a, b) => a.seconds - b.seconds)[Math.floor(out.length / 2)]!;
}

const cpu = (m: Measure) => (m.cpuSeconds === undefined ? '' : `, CPU ${(m.cpuSeconds / m.seconds * 100).toFixed(0)}%`);

/**
 * SHA-256 and zstd level 3 rates of one core on 64 MiB of the text, MiB/s, by CPU time (not wall time: on a
 * shared machine the wall clock measures the neighbours).
 */
async function ceilings(): Promise<string> {
  const text = Buffer.concat([textBytes('log', 9, 32 * MiB), textBytes('csv', 9, 32 * MiB)]);
  const cpuSeconds = (work: () => void) => {
    const start = process.cpuUsage();
    work();
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6;
  };
  const sha = 64 / cpuSeconds(() => createHash('sha256').update(text).digest());
  const encoder = new Encoder(3);
  const zstd = 64 / cpuSeconds(() => { for (let at = 0; at < text.length; at += 4 * MiB) encoder.encodeSync(text.subarray(at, at + 4 * MiB)); });
  return `ceilings per core (CPU time): SHA-256 ${sha.toFixed(0)} MiB/s, zstd-3 ${zstd.toFixed(0)} MiB/s; ${os.availableParallelism()} cores`;
}

/** Every compression row, on `textBytes` of text and the `randomBytes` big file; `work` is scratch space. */
export async function compressionRows(dataRoot: string, work: string, env: NodeJS.ProcessEnv, runs: number, sizes: { text: number; random: number }): Promise<CompressionRow[]> {
  const rows: CompressionRow[] = [];
  const text = textTree(dataRoot, sizes.text);
  const store = path.join(work, 'z-store');
  const dm = (...args: string[]) => timed(process.execPath, [cli, '--store', store, '--quiet', ...args], env);
  const uploadAt = (level: string, data: DataSet) => measure(runs, () => { fresh(store)(); dm('repo', 'create', 'bench', '--compression', level); },
    () => dm('bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest'));
  const ceiling = await ceilings();
  console.log(`  ${ceiling}`);

  const off = uploadAt('off', text);
  const offStored = duSize(path.join(store, 'blobs'));
  rows.push({ data: text.name, scenario: 'first upload, compression off', dm: off, gibs: text.bytes / 2 ** 30 / off.seconds, peers: [],
    note: `stored ${(offStored / text.bytes).toFixed(3)}× the data${cpu(off)}; ${ceiling}` });
  const restic = new Restic(path.join(work, 'z-restic'));
  const resticUp = have('restic', 'restic', false) ? measure(runs, () => restic.init(), () => restic.backup(text.dir)) : undefined;
  const resticShare = resticUp ? restic.size() / text.bytes : undefined;
  for (const level of ['fast', 'default', 'max']) {
    const m = uploadAt(level, text);
    const share = duSize(path.join(store, 'blobs')) / text.bytes;
    const vsRestic = resticShare === undefined ? '' : `, restic ${resticShare.toFixed(3)}× (${share <= resticShare ? '≤' : '>'} restic)`;
    rows.push({
      data: text.name, scenario: `first upload, compression ${level}`, dm: m, gibs: text.bytes / 2 ** 30 / m.seconds,
      peers: [['compression off', off], ...(resticUp ? [['restic backup', resticUp] as [string, Measure]] : [])],
      note: `stored **${share.toFixed(3)}×** the data${vsRestic}; **${(off.seconds / m.seconds * 100).toFixed(0)}%** of compression off's throughput${cpu(m)}`,
    });
  }

  const random = bigFile(dataRoot, sizes.random);
  const rOff = uploadAt('off', random);
  const rOn = uploadAt('default', random);
  rows.push({
    data: random.name, scenario: 'first upload of random data, compression default', dm: rOn, gibs: random.bytes / 2 ** 30 / rOn.seconds,
    peers: [['compression off', rOff]],
    note: `**${((rOn.seconds / rOff.seconds - 1) * 100).toFixed(1)}%** slower than off (goal ≤ 5%); stored ${(duSize(path.join(store, 'blobs')) / random.bytes).toFixed(3)}×${cpu(rOn)}`,
  });
  rmSync(store, { recursive: true, force: true });
  rmSync(restic.repo, { recursive: true, force: true });
  return rows;
}

function format(r: CompressionRow): string {
  const ratios = r.peers.map(([n, m]) => `${n} ${m.seconds.toFixed(2)} s → **${(r.dm.seconds / m.seconds).toFixed(2)}×**`).join('; ');
  const rate = r.gibs === undefined ? '–' : `${r.gibs.toFixed(2)} GiB/s`;
  return `| ${r.data} | ${r.scenario} | ${r.dm.seconds.toFixed(2)} s | ${rate} | ${r.dm.rssMiB.toFixed(0)} MiB | ${ratios || '–'} | ${r.note} |`;
}

export const COMPRESSION_SIZES = {
  smoke: { text: 8 * MiB, random: 16 * MiB },
  quick: { text: 96 * MiB, random: 256 * MiB },
  full: { text: 512 * MiB, random: 1024 * MiB },
};

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const mode = process.argv.includes('--smoke') ? 'smoke' : process.argv.includes('--quick') ? 'quick' : 'full';
  const work = path.join(os.tmpdir(), `datamover-bench-z-${process.pid}`);
  mkdirSync(work, { recursive: true });
  const env = { DATAMOVER_HOME: path.join(work, 'home'), DATAMOVER_AUTHOR: 'Bench <bench@example.com>' };
  try {
    console.log('| data | scenario | datamover | throughput | peak RSS | peers (datamover time ÷ peer time) | notes |\n|---|---|---:|---:|---:|---|---|');
    const rows = await compressionRows(arg('--data') ?? path.join(repoRoot, 'bench', 'data'), work, env, mode === 'full' ? 3 : 1, COMPRESSION_SIZES[mode]);
    for (const r of rows) console.log(format(r));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
