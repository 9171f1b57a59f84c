/** Seeded data sets for the benchmarks: written once under bench/data/, reused while their marker matches. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

export interface DataSet { name: string; dir: string; bytes: number; files: number }

function block(seed: number, n: number): Buffer {
  // SHA-256 in counter mode: fast enough, incompressible, reproducible.
  const out = Buffer.allocUnsafe(n);
  for (let i = 0, c = 0; i < n; i += 32, c++) {
    createHash('sha256').update(`${seed}:${c}`).digest().copy(out, i, 0, Math.min(32, n - i));
  }
  return out;
}

function prepared(dir: string, marker: string, make: () => void): void {
  const markerFile = path.join(dir, '.bench-marker');
  if (existsSync(markerFile) && readFileSync(markerFile, 'utf8') === marker) return;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  make();
  writeFileSync(markerFile, marker);
}

/** One file of `bytes`, written in 8 MiB blocks. */
export function bigFile(root: string, bytes: number): DataSet {
  const dir = path.join(root, `big-${bytes}`);
  prepared(dir, `big:${bytes}`, () => {
    const fd = openSync(path.join(dir, 'big.bin'), 'w');
    const step = 8 * 1024 * 1024;
    const base = block(1, step);
    for (let off = 0, i = 0; off < bytes; off += step, i++) {
      base.writeUInt32LE(i, 0); // every block distinct, no dedup inside the file
      writeSync(fd, base, 0, Math.min(step, bytes - off));
    }
    closeSync(fd);
  });
  return { name: `1 × ${(bytes / 2 ** 30).toFixed(2)} GiB file`, dir, bytes, files: 1 };
}

/** `count` files of `size` bytes in 100 directories. */
export function smallFiles(root: string, count: number, size: number): DataSet {
  const dir = path.join(root, `small-${count}x${size}`);
  prepared(dir, `small:${count}:${size}`, () => {
    const base = block(2, size);
    for (let d = 0; d < 100; d++) mkdirSync(path.join(dir, `d${d}`));
    for (let i = 0; i < count; i++) {
      base.writeUInt32LE(i, 0);
      writeFileSync(path.join(dir, `d${i % 100}`, `f${i}.bin`), base);
    }
  });
  return { name: `${count} × ${size / 1024} KiB files`, dir, bytes: count * size, files: count };
}
