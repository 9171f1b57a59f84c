/**
 * What reads through `bundle mount` cost: a 4 KiB read at a random offset of a 2 GiB file opens one pack range
 * (counted at the store's files, with strace, as well as by the mount's own counters); `cat` of the whole
 * 2 GiB streams it through the chunk cache with the mount process's memory under cache + a fixed overhead;
 * `ls -R` of a 20,000-file bundle reads manifest pages only.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, runsIf, rng, seededBytes, summaryOf, tempDir } from './helpers.js';
import { emptyDir, killMounts, mount, mountSkipReason, newStore } from './mount-helpers.js';

const t = suite('bundle mount: storage and memory a read costs');
const hasStrace = spawnSync('sh', ['-c', 'command -v strace']).status === 0;
const test = runsIf(t, mountSkipReason ?? (hasStrace ? undefined : 'strace missing (apt-get install strace)'));
t.after(killMounts);

const MiB = 1024 * 1024;
const CHUNK = 4 * MiB; // the store's fixed chunker
const BIG = 2048 * MiB;
/**
 * The big file is DISTINCT seeded chunks repeated in turn: the store keeps only those (dedup: 160 MiB, quick to
 * upload), yet a sequential reader of the file needs a chunk that left the cache at every step, because the
 * cycle is longer than the cache (64 MiB, 16 chunks) holds. So all 2 GiB really pass through the cache.
 */
const DISTINCT = 40;
const CACHE = 64 * MiB;
const contents = Array.from({ length: DISTINCT }, (_, i) => seededBytes(1000 + i, CHUNK));
const chunkOf = (i: number) => contents[i % DISTINCT]!;

/** Writes the big file under `dir`. */
function writeBig(dir: string): void {
  const fd = openSync(path.join(dir, 'big.bin'), 'w');
  for (let i = 0; i < BIG / CHUNK; i++) writeSync(fd, chunkOf(i));
  closeSync(fd);
}

/**
 * `cat file`, its output compared chunk by chunk with what the big file holds as it streams (a compare, not a
 * hash: 2 GiB hashed twice would double the test's time); resolves with the bytes that matched in order.
 */
function catMatching(file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let at = 0;
    let good = true;
    child.stdout.on('data', (d: Buffer) => {
      for (let from = 0; from < d.length && good;) {
        const [index, within] = [Math.floor(at / CHUNK), at % CHUNK];
        const n = Math.min(d.length - from, CHUNK - within);
        good = d.subarray(from, from + n).equals(chunkOf(index).subarray(within, within + n));
        if (good) [at, from] = [at + n, from + n];
      }
    });
    child.on('close', (code) => (code === 0 ? resolve(at) : reject(new Error(`cat exited ${code}`))));
  });
}

interface Traced { child: ChildProcess; out: string; stop: () => Promise<string[]> }

/**
 * Attaches strace to every thread of `pid`, logging the files it opens; resolves once it is attached (strace
 * reports once, "attached with N threads", after attaching them all).
 */
async function traceOpens(pid: number, dir: string): Promise<Traced> {
  const out = path.join(dir, 'opens.trace');
  const child = spawn('strace', ['-f', '-e', 'trace=openat', '-o', out, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('attached')) resolve();
    });
    child.on('close', () => reject(new Error(`strace ended: ${stderr}`)));
  });
  const stop = async () => {
    const closed = new Promise((resolve) => child.on('close', resolve));
    child.kill('SIGINT');
    await closed;
    return readFileSync(out, 'utf8').split('\n').filter((l) => /openat\(.*= \d+$/.test(l));
  };
  return { child, out, stop };
}

/** The peak resident memory of process `pid` so far (the kernel's high-water mark, VmHWM). */
function peakRss(pid: number): number {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(hwm?.[1] ?? 0) * 1024;
}

test('counting: 4 KiB at a random offset of a 2 GiB file opens one pack range; cat of all 2 GiB keeps the mount under cache + fixed overhead', async () => {
  const src = tempDir('mnt-big');
  writeBig(src);
  const { store } = newStore(src);
  rmSync(path.join(src, 'big.bin')); // the store has it now: 2 GiB of disk given back early
  const mnt = emptyDir('mnt-big');

  // A random chunk, and an offset in it at least 1 MiB before its end: the kernel's read-ahead stays in it.
  const seed = Date.now() >>> 0;
  const random = rng(seed);
  const index = Math.floor(random() * (BIG / CHUNK));
  const offset = index * CHUNK + Math.floor(random() * (CHUNK - MiB));
  const first = await mount(store, mnt, 'v1');
  const trace = await traceOpens(first.pid, tempDir('mnt-trace'));
  const file = openSync(path.join(mnt, 'big.bin'), 'r');
  const got = Buffer.alloc(4096);
  assert.is(readSync(file, got, 0, 4096, offset), 4096);
  closeSync(file);
  const opens = await trace.stop();
  assert.ok(got.equals(chunkOf(index).subarray(offset % CHUNK, offset % CHUNK + 4096)), `bytes at ${offset} (seed ${seed})`);
  const packOpens = opens.filter((l) => l.includes('/blobs/packs/'));
  assert.is(packOpens.length, 1, `pack files opened for 4 KiB at ${offset} (seed ${seed}):\n${packOpens.join('\n')}`);
  const r1 = await first.stop();
  assert.is(r1.code, 0, r1.stderr);
  assert.is(summaryOf(r1.stdout).chunkFetches, 1, r1.stdout);
  assert.is(summaryOf(r1.stdout).rangeReads, 1, r1.stdout);

  // Node with its heap and the store's metadata, the read-ahead window in flight (a quarter of the cache),
  // the binding's and the kernel's request buffers, and chunks evicted but not yet collected.
  const overhead = 192 * MiB;
  const second = await mount(store, mnt, 'v1', ['--cache-size', '64MiB']);
  const matched = await catMatching(path.join(mnt, 'big.bin'));
  const peak = peakRss(second.pid);
  assert.is(matched, BIG, 'cat through the mount equals the source, all of it');
  assert.ok(peak > 0 && peak < CACHE + overhead, `peak RSS ${(peak / MiB).toFixed(0)} MiB, bound ${(CACHE + overhead) / MiB} MiB`);
  const r2 = await second.stop();
  assert.is(summaryOf(r2.stdout).bytesRead, BIG);
  assert.is(summaryOf(r2.stdout).chunkFetches, BIG / CHUNK, 'every chunk fetched once: all 2 GiB went through the cache');
  assert.ok(summaryOf(r2.stdout).rangeReads <= BIG / CHUNK);
});

test('ls -R of a 20,000-file bundle reads only manifest pages (each once), no chunk', async () => {
  const src = tempDir('mnt-many');
  for (let d = 0; d < 40; d++) {
    mkdirSync(path.join(src, `d${d}`));
    for (let i = 0; i < 500; i++) writeFileSync(path.join(src, `d${d}`, `f${i}`), `${d}/${i}`);
  }
  const { store } = newStore(src);
  const pages = JSON.parse(cli(['--store', store, '--json', 'bundle', 'get', 'v1', '--repo', 'r']).stdout).bundle.pages.length;
  const mnt = emptyDir('mnt-many');
  const m = await mount(store, mnt, 'v1');
  const ls = spawnSync('ls', ['-lR', mnt], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.is(ls.status, 0, ls.stderr);
  assert.is(ls.stdout.split('\n').filter((l) => l.startsWith('-')).length, 20_000);
  const r = await m.stop();
  const s = summaryOf(r.stdout);
  assert.is(s.chunkFetches, 0);
  assert.is(s.rangeReads, 0);
  assert.ok(s.pageReads >= 1 && s.pageReads <= pages, `${s.pageReads} page reads of ${pages} pages`);
});

t.run();
