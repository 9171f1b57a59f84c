/**
 * Reading in place over HTTP (`serve`), against `bundle download` of the same file in the same run: a
 * sequential read of the big file with curl (goal: at least 70% of the download's throughput), and the
 * first-byte latency of a 1 MiB range from the middle of it. Requests share the server's chunk cache, so each
 * timed request goes to a server of its own, started untimed: every read is cold.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { DataSet } from './data.js';
import { type Measure, cli, timed } from './measure.js';

export interface ServeRow { scenario: string; dm: Measure; gibs?: number; note?: string; peers: [string, Measure][] }

interface Running { url: string; child: ChildProcess; peakRssMiB: () => number; stop: () => Promise<void> }

/** Starts `serve` on a free loopback port; resolves with its URL once it prints it. */
function startServe(store: string, env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, [cli, '--store', store, 'serve', '--listen', '127.0.0.1:0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const peakRssMiB = () => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  const stop = async () => { child.kill('SIGTERM'); await exited; };
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (\S+)/.exec(out)?.[1];
      if (url) resolve({ url, child, peakRssMiB, stop });
    });
    void exited.then(() => reject(new Error(`serve exited: ${err}`)));
  });
}

/** curl's timings of one GET (`-w`), bytes to /dev/null. */
function curl(url: string, range?: string): { total: number; firstByte: number; bytes: number } {
  const args = ['-sS', '--fail', '-o', '/dev/null', '-w', '%{time_total} %{time_starttransfer} %{size_download}', ...(range ? ['-r', range] : []), url];
  const r = spawnSync('curl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`curl ${url} failed: ${r.stderr}`);
  const [total, firstByte, bytes] = r.stdout.trim().split(' ').map(Number);
  return { total: total!, firstByte: firstByte!, bytes: bytes! };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The rows, for the big file of `data`, uploaded (untimed) to a new `store` of its own (repo `bench`, label
 * `latest`), so the rows do not depend on what other scenarios left. `fresh` gives an unused directory per
 * download (see run.ts `unusedDirs`).
 */
export async function serveRows(data: DataSet, store: string, env: NodeJS.ProcessEnv, runs: number, fresh: () => string): Promise<ServeRow[]> {
  const file = 'big.bin';
  rmSync(store, { recursive: true, force: true });
  timed(process.execPath, [cli, '--store', store, '--quiet', 'repo', 'create', 'bench'], env);
  timed(process.execPath, [cli, '--store', store, '--quiet', 'bundle', 'upload', data.dir, '--repo', 'bench', '--label', 'latest'], env);
  const download: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    const dest = path.join(fresh(), 'out');
    spawnSync('sync');
    download.push(timed(process.execPath, [cli, '--store', store, '--quiet', 'bundle', 'download', dest, '--repo', 'bench', '--label', 'latest', '--include', file], env));
  }
  const down = [...download].sort((a, b) => a.seconds - b.seconds)[Math.floor(runs / 2)]!;
  let rss = 0;
  /** `ask` against a server of its own (a cold cache), given the file's URL there. */
  const coldServer = async <T>(ask: (url: string) => T): Promise<T> => {
    const server = await startServe(store, env);
    try {
      // The label `latest` (run.ts uploads to it) is also the ref of the newest bundle: named by id, unambiguous.
      const label = await (await fetch(`${server.url}/api/repos/bench/labels/latest`)).json() as { label: { bundle: string } };
      const answer = ask(`${server.url}/repos/bench/bundles/${label.label.bundle}/raw/${file}`);
      rss = Math.max(rss, server.peakRssMiB());
      return answer;
    } finally {
      await server.stop();
    }
  };
  try {
    const reads: ReturnType<typeof curl>[] = [];
    for (let i = 0; i < runs; i++) reads.push(await coldServer((url) => curl(url)));
    if (reads.some((r) => r.bytes !== data.bytes)) throw new Error(`serve answered ${reads.map((r) => r.bytes).join(', ')} bytes, not ${data.bytes}`);
    const seconds = median(reads.map((r) => r.total));
    const middle = Math.floor(data.bytes / 2);
    const probes = [-3, -1, 0, 1, 3].map((k) => Math.max(0, middle + k * 5 * 2 ** 20));
    const latencies: number[] = [];
    for (const at of probes) latencies.push(await coldServer((url) => curl(url, `${at}-${Math.min(data.bytes, at + 2 ** 20) - 1}`).firstByte));
    const share = (down.seconds / seconds) * 100;
    return [
      {
        scenario: 'sequential read through HTTP (serve, curl)', dm: { seconds, rssMiB: rss }, gibs: data.bytes / 2 ** 30 / seconds,
        peers: [['bundle download of the file', down]], note: `**${share.toFixed(0)}%** of bundle download's throughput (goal ≥ 70%); RSS is the server's peak`,
      },
      {
        scenario: 'first byte of a 1 MiB range from the middle (HTTP)', dm: { seconds: median(latencies), rssMiB: rss }, peers: [],
        note: `median of ${latencies.length} ranges near the middle, each from a fresh server: ${latencies.map((s) => `${(s * 1000).toFixed(0)} ms`).join(', ')}`,
      },
    ];
  } finally {
    rmSync(store, { recursive: true, force: true });
  }
}
