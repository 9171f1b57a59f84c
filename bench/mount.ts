/**
 * Read in place through `bundle mount`: a sequential read of the big file (against `bundle download` of it in
 * the same run), the first byte of a 1 MiB range from its middle, and `find` + stat of a many-file tree. Each
 * timed run gets a fresh mount, so nothing comes from the kernel's page cache of an earlier run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Measure, cli, timed } from './measure.js';

/** A running `bundle mount` of the repo `bench`'s latest bundle. */
export interface Mounted { dir: string; stop: () => void }

/** The newest bundle of repo `bench` (by id: the bench labels it `latest`, which `latest` as a ref would clash with). */
function newest(store: string, env: NodeJS.ProcessEnv): string {
  const list = timed(process.execPath, [cli, '--store', store, '--json', 'bundle', 'list', '--repo', 'bench'], env);
  const bundles = (JSON.parse(list.stdout!.trim().split('\n').pop()!) as { bundles: { id: string }[] }).bundles;
  return bundles[bundles.length - 1]!.id;
}

/** Mounts the newest bundle of `store` on a new directory under `work`; waits until the mount answers. */
export function mountLatest(store: string, work: string, env: NodeJS.ProcessEnv): Mounted {
  const dir = path.join(work, `mnt-${process.hrtime.bigint()}`);
  mkdirSync(dir, { recursive: true });
  const child = spawn(process.execPath, [cli, '--store', store, '--quiet', 'bundle', 'mount', dir, newest(store, env), '--repo', 'bench'],
    { env: { ...process.env, ...env }, stdio: 'ignore', detached: false });
  const deadline = Date.now() + 60_000;
  while (!mounted(dir)) {
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`bundle mount of ${store} did not come up`);
    }
    spawnSync('sleep', ['0.1']);
  }
  return {
    dir,
    stop: () => {
      spawnSync('umount', [dir]);
      while (mounted(dir)) spawnSync('sleep', ['0.1']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir && l.includes('fuse.datamover'));
}

/** Times `run` against a fresh mount per run (mounting untimed); the median of `runs`. */
export function throughMount(store: string, work: string, env: NodeJS.ProcessEnv, runs: number, run: (dir: string) => Measure): Measure {
  const out: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    const m = mountLatest(store, work, env);
    try {
      out.push(run(m.dir));
    } finally {
      m.stop();
    }
  }
  return out.sort((a, b) => a.seconds - b.seconds)[Math.floor(out.length / 2)]!;
}

/** Reads `file` whole, sequentially, 1 MiB at a time. */
export const sequentialRead = (file: string): Measure => timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'status=none']);

/** Reads 1 MiB from the middle of `file` (`size` bytes): the time to the first (and only) read's end. */
export const middleRange = (file: string, size: number): Measure =>
  timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=1M', 'count=1', `skip=${Math.floor(size / 2 / 2 ** 20)}`, 'status=none']);

/** `find` with a stat of every entry (size, mtime), output dropped. */
export const findStat = (dir: string): Measure => timed('find', [dir, '-printf', '%s %T@ %m\\n'], {}, { timeoutMs: 600_000 });

/** Whether this machine can mount (root and /dev/fuse). */
export const canMount = (): boolean => existsSync('/dev/fuse') && process.getuid?.() === 0;
