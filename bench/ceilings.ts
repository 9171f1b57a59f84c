/**
 * The three ceilings a local upload cannot beat, measured in the same run as the figures they bound: how fast the
 * source is read (page cache or disk, as the run finds it), how fast all cores hash with SHA-256, and how fast the
 * store's file system takes durable writes. A figure is judged against the smallest of them, which names the
 * bottleneck; machines of one kind differ by 2× on the last two.
 */
import { createHash } from 'node:crypto';
import { closeSync, fdatasyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { timed } from './measure.js';

export interface Ceilings { readGiBs: number; hashGiBs: number; cores: number; durableGiBs: number }

const MiB = 2 ** 20;

/** Measures the three ceilings: `file` is read with dd, `storeDir` (existing) takes the durable-write probe. */
export function measureCeilings(file: string, storeDir: string): Ceilings {
  const readGiBs = statSync(file).size / 2 ** 30 / timed('dd', [`if=${file}`, 'of=/dev/null', 'bs=8M', 'status=none']).seconds;
  return { readGiBs, hashGiBs: sha256GiBs(), cores: os.availableParallelism(), durableGiBs: durableWriteGiBs(storeDir) };
}

/** The slowest of the three, and a sentence naming all of them. */
export function bottleneck(c: Ceilings): { gibs: number; why: string } {
  const limits: [string, number][] = [['read', c.readGiBs], [`SHA-256 × ${c.cores} cores`, c.cores * c.hashGiBs], ['durable write', c.durableGiBs]];
  const [name, gibs] = limits.reduce((a, b) => (b[1] < a[1] ? b : a));
  const why = `read ${c.readGiBs.toFixed(2)}, SHA-256 ${c.hashGiBs.toFixed(2)} × ${c.cores} cores, durable write ${c.durableGiBs.toFixed(2)} GiB/s; bound by ${name}`;
  return { gibs, why };
}

function sha256GiBs(): number {
  const buf = Buffer.alloc(256 * MiB, 1);
  const t0 = performance.now();
  createHash('sha256').update(buf).digest();
  return 0.25 / ((performance.now() - t0) / 1000);
}

/** 512 MiB in 8 MiB writes, then fdatasync: what `dd conv=fdatasync` reports, in-process. */
function durableWriteGiBs(dir: string): number {
  const file = path.join(dir, `.ceiling-probe-${process.pid}`);
  const block = Buffer.alloc(8 * MiB);
  for (let i = 0; i < block.length; i += 32) createHash('sha256').update(String(i)).digest().copy(block, i);
  const fd = openSync(file, 'w');
  try {
    const t0 = performance.now();
    for (let i = 0; i < 64; i++) writeSync(fd, block);
    fdatasyncSync(fd);
    return 0.5 / ((performance.now() - t0) / 1000);
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
}
