/** Seeded data sets for the benchmarks: written once under bench/data/, reused while their marker matches. */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
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
  // A run that died between a change and its undo leaves `<dir>.dirty`: the set is made again.
  const clean = !existsSync(`${dir}.dirty`);
  if (clean && existsSync(markerFile) && readFileSync(markerFile, 'utf8') === marker) return;
  rmSync(`${dir}.dirty`, { force: true });
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  make();
  writeFileSync(markerFile, marker);
}

/**
 * Makes block `i` of a file unlike every other block at every 16 KiB, so no chunk of any chunker (fixed 4 MiB,
 * FastCDC's 256 KiB minimum) repeats inside the file: a big file must not deduplicate against itself.
 */
function stampBlock(base: Buffer, i: number): void {
  for (let at = 0; at + 4 <= base.length; at += 16 * 1024) base.writeUInt32LE(i, at);
}

/** One file of `bytes`, written in 8 MiB blocks, none alike. */
export function bigFile(root: string, bytes: number): DataSet {
  const dir = path.join(root, `big-${bytes}`);
  prepared(dir, `big-v2:${bytes}`, () => {
    const fd = openSync(path.join(dir, 'big.bin'), 'w');
    const step = 8 * 1024 * 1024;
    const base = block(1, step);
    for (let off = 0, i = 0; off < bytes; off += step, i++) {
      stampBlock(base, i);
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

/** Two identical copies of a tree of `count` files of `size` bytes (`a/` and `copy-of-a/`): dedup should store one. */
export function duplicatedSubtree(root: string, count: number, size: number): DataSet {
  const dir = path.join(root, `dup-${count}x${size}`);
  prepared(dir, `dup:${count}:${size}`, () => {
    const base = block(3, size);
    for (const top of ['a', 'copy-of-a']) {
      for (let d = 0; d < 10; d++) mkdirSync(path.join(dir, top, `d${d}`), { recursive: true });
      for (let i = 0; i < count / 2; i++) {
        base.writeUInt32LE(i, 0);
        writeFileSync(path.join(dir, top, `d${i % 10}`, `f${i}.bin`), base);
      }
    }
  });
  return { name: `${count} × ${size / 1024} KiB files, half a copy of the other half`, dir, bytes: count * size, files: count };
}

/**
 * Changes about 1% of a data set in place and returns how to undo it: for a single file, 1% of its 8 MiB blocks
 * get new content; for a tree, 1% of its files are rewritten (same size, new bytes).
 */
export function changeOnePercent(data: DataSet, round: number): () => void {
  writeFileSync(`${data.dir}.dirty`, '');
  const undo = changeInPlace(data, round);
  return () => { undo(); rmSync(`${data.dir}.dirty`, { force: true }); };
}

function changeInPlace(data: DataSet, round: number): () => void {
  if (data.files === 1) {
    const file = path.join(data.dir, 'big.bin');
    const step = 8 * 1024 * 1024;
    const blocks = Math.max(1, Math.round(data.bytes / step / 100));
    const fd = openSync(file, 'r+');
    const stride = Math.floor(data.bytes / step / blocks);
    const touched: number[] = [];
    for (let b = 0; b < blocks; b++) {
      const i = b * stride + (round % stride);
      touched.push(i);
      writeSync(fd, block(1000 + round, Math.min(step, data.bytes - i * step)), 0, Math.min(step, data.bytes - i * step), i * step);
    }
    closeSync(fd);
    return () => {
      const fd2 = openSync(file, 'r+');
      const base = block(1, step);
      for (const i of touched) { stampBlock(base, i); writeSync(fd2, base, 0, Math.min(step, data.bytes - i * step), i * step); }
      closeSync(fd2);
    };
  }
  const files = listTree(data.dir).filter((f) => f.endsWith('.bin'));
  const chosen = files.filter((_, i) => (i + round) % 100 === 0);
  const saved = chosen.map((f) => [f, readFileSync(f)] as const);
  for (const [f, old] of saved) { const next = Buffer.from(old); next.writeUInt32LE(0xfeed0000 + round, 4); writeFileSync(f, next); }
  return () => { for (const [f, old] of saved) writeFileSync(f, old); };
}

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
}

/** Copies `src` to `dest` with `insert` put in at offset `at`, in 8 MiB blocks (an insert-shifted file). */
export function copyWithInsert(src: string, dest: string, at: number, insert: Buffer): void {
  const [from, to] = [openSync(src, 'r'), openSync(dest, 'w')];
  try {
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let pos = 0;
    const copy = (end: number) => {
      for (let n; pos < end && (n = readSync(from, buf, 0, Math.min(buf.length, end - pos), pos)) > 0; pos += n) writeSync(to, buf, 0, n);
    };
    copy(at);
    writeSync(to, insert);
    copy(Number.MAX_SAFE_INTEGER);
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

/** A sparse file of `bytes` (all zeros, no disk): reading it costs no I/O, so memory and hashing show alone. */
export function sparseFile(root: string, bytes: number): DataSet {
  const dir = path.join(root, `sparse-${bytes}`);
  prepared(dir, `sparse:${bytes}`, () => {
    const fd = openSync(path.join(dir, 'sparse.bin'), 'w');
    ftruncateSync(fd, bytes);
    closeSync(fd);
  });
  return { name: `1 × ${(bytes / 2 ** 30).toFixed(0)} GiB sparse file`, dir, bytes, files: 1 };
}

/**
 * Reads every file of `data` once (untimed), so the first tool to run does not pay for a cold page cache: the
 * 200,000-file tree is timed once, and cold it took datamover 19.8 s against 7 s warm.
 */
export function warm(data: DataSet): void {
  const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
  const visit = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const abs = path.join(dir, e.name);
      if (e.isDirectory()) visit(abs);
      else if (e.isFile()) {
        const fd = openSync(abs, 'r');
        try {
          while (readSync(fd, buf, 0, buf.length, null) > 0);
        } finally {
          closeSync(fd);
        }
      }
    }
  };
  visit(data.dir);
}

/**
 * `count` files of `size` random bytes, `perDir` to a directory (`dNNNN/fNNNNNNN.bin`): the many-files tree
 * (bench/many-files.ts). Each file is its own seeded content, so nothing deduplicates.
 */
export function manyFiles(root: string, count: number, size = 1024, perDir = 1000): DataSet {
  const dir = path.join(root, `many-${count}x${size}`);
  prepared(dir, `many:${count}:${size}:${perDir}`, () => {
    const base = block(4, size);
    for (let i = 0; i < count; i++) {
      const sub = path.join(dir, `d${String(Math.floor(i / perDir)).padStart(4, '0')}`);
      if (i % perDir === 0) mkdirSync(sub);
      base.writeUInt32LE(i, 0);
      base.writeUInt32LE((i ^ 0x9e3779b9) >>> 0, size - 4);
      writeFileSync(path.join(sub, `f${String(i).padStart(7, '0')}.bin`), base);
    }
  });
  return { name: `${count} × ${size / 1024} KiB files`, dir, bytes: count * size, files: count };
}
