/**
 * The CPU work of an upload: read byte ranges of files into one reused buffer with synchronous I/O and hash
 * each range (DESIGN §7: sync reads into reused memory run ~1.5× faster than streams here). Pure and
 * synchronous, so it is tested without a pool; `hash-worker.ts` runs it inside piscina.
 */
import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type CdcParams, cdcCuts } from './fastcdc.js';
import { fsPath } from '../engine/fs-path.js';

export interface ReadRange {
  /** Absolute path of the file (string form of engine/fs-path.ts: bytes that are not UTF-8 escaped). */
  abs: string;
  offset: number;
  length: number;
  /** The size the scan saw; a file found larger or smaller was changed since. */
  fileSize: number;
  /** The inode the scan saw; another inode at the path means the file was replaced since. */
  ino?: number;
  /** The mtime and ctime the scan saw (decimal nanoseconds); a file found with others was changed since. */
  mtimeNs?: string;
  ctimeNs?: string;
}

export interface HashTask {
  /** Where the ranges are read to, back to back from offset 0. Moved in and out, never copied. */
  buffer: ArrayBuffer;
  ranges: ReadRange[];
  /** Content-defined chunking: each range is cut into chunks (`chunks` of the outcome) instead of being one. */
  cdc?: CdcParams;
  /** Compress each chunk that compresses at this zstd level (workers/compress-pieces.ts); absent or 0: none. */
  zstdLevel?: number;
}

/**
 * Why a range could not be read: errno code (`ENOENT`, `EACCES`, ...) or `CHANGED` (the file is not the one the
 * scan saw, is no longer a regular file, or changed while read).
 */
export interface ReadFailure { code: string; abs: string; message: string }

export interface HashOutcome {
  buffer: ArrayBuffer;
  /** Hex SHA-256 per range, in order; '' for a range that failed (or was cut into `chunks`). */
  digests: string[];
  /**
   * Per range, the file's stamp (`stampOf`) seen both before and after the range was read; '' for a range that
   * failed. The ranges of one file are read one version only if all of them carry the same stamp: the caller
   * checks that across tasks (within one task it is checked here).
   */
  stamps: string[];
  /** With `cdc`: per range, its chunks as [hex SHA-256, length] in order ([] for a range that failed). */
  chunks?: [string, number][][];
  /**
   * With `zstdLevel`: per range, per chunk, the length of the zstd frame that replaced the chunk's bytes at its
   * start in `buffer`, or 0 where the chunk stayed raw (workers/compress-pieces.ts).
   */
  stored?: number[][];
  /** The first failure, if any. */
  failure?: ReadFailure;
  /** Every failed range (by index). Once a file fails, its later ranges in the task fail with it. */
  failures?: (ReadFailure & { index: number })[];
  threadId: number;
}

/**
 * A write that began at most this long before a file's ctime was read may still be copying its bytes without
 * changing the stamp again, and a second write within the clock tick of the first leaves the stamp unchanged
 * too. So a file whose ctime is younger than this is read only once it is this old: any later write then shows
 * as a new ctime. (On a file system with whole-second times, a ctime of a whole second, the window is
 * COARSE_RACY_MS.) A single write syscall still copying after that long goes unseen: the residual risk.
 */
export const RACY_MS = 100;
const COARSE_RACY_MS = 2100;

/**
 * Reads and hashes every range of `task`. A read error is a value (`failures`), so the buffer still comes back
 * and the ranges of other files in the task are still hashed. A file is opened without following links and
 * without blocking (a FIFO or device swapped in is refused, never waited on), must be a regular file whose
 * size, inode, mtime and ctime are those the scan saw, and must keep the same stamp while each range is read.
 */
export function hashRanges(task: HashTask, threadId = 0): HashOutcome {
  const view = new Uint8Array(task.buffer);
  const digests: string[] = [];
  const stamps: string[] = [];
  const chunks: [string, number][][] | undefined = task.cdc ? [] : undefined;
  const failures: (ReadFailure & { index: number })[] = [];
  const failedFiles = new Map<string, ReadFailure>();
  let at = 0;
  let open: OpenFile | undefined;
  const fail = (range: ReadRange, index: number, failure: ReadFailure) => {
    failedFiles.set(range.abs, failure);
    failures.push({ ...failure, index });
    digests.push('');
    stamps.push('');
    chunks?.push([]);
  };
  try {
    task.ranges.forEach((range, index) => {
      const slice = view.subarray(at, at + range.length);
      at += range.length;
      const earlier = failedFiles.get(range.abs);
      if (earlier) return fail(range, index, earlier);
      try {
        if (open?.abs !== range.abs) {
          if (open) closeSync(open.fd);
          open = undefined;
          open = openChecked(range);
        }
        readExactly(open.fd, slice, range);
        if (stampOf(fstatSync(open.fd, { bigint: true })) !== open.stamp) throw changed('changed while being read');
        if (chunks) {
          chunks.push(cutAndHash(slice, task.cdc!));
          digests.push('');
        } else {
          digests.push(createHash('sha256').update(slice).digest('hex'));
        }
        stamps.push(open.stamp);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        fail(range, index, { code: e.code ?? 'EIO', abs: range.abs, message: e.message });
      }
    });
  } finally {
    if (open) closeSync(open.fd);
  }
  const outcome: HashOutcome = { buffer: task.buffer, digests, stamps, threadId, ...(chunks ? { chunks } : {}) };
  return failures.length ? { ...outcome, failure: failures[0], failures } : outcome;
}

/** One version of a file: device, inode, size, mtime and ctime to the nanosecond. */
export function stampOf(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The ctime (ns, decimal) a stamp records. */
export function stampCtimeNs(stamp: string): string {
  return stamp.slice(stamp.lastIndexOf(':') + 1);
}

interface OpenFile { abs: string; fd: number; stamp: string }

/** Opens the file of `range` as the scan saw it, or throws (CHANGED, or the errno of the open). */
function openChecked(range: ReadRange): OpenFile {
  let fd: number;
  try {
    // Never through a symlink (ELOOP), never blocking on a FIFO or device swapped in since the scan, and never
    // making a terminal swapped in this process's controlling terminal.
    fd = openSync(fsPath(range.abs), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw changed('is no longer a regular file (a socket?)');
    throw err;
  }
  try {
    let st = fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw changed('is no longer a regular file');
    if (waitUntilSettled(st)) st = fstatSync(fd, { bigint: true });
    const whatChanged = differenceFromScan(st, range);
    if (whatChanged) throw changed(`${whatChanged} since the scan`);
    return { abs: range.abs, fd, stamp: stampOf(st) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

function differenceFromScan(st: BigIntStats, range: ReadRange): string | undefined {
  if (range.ino !== undefined && st.ino !== BigInt(range.ino)) return 'was replaced';
  if (st.size !== BigInt(range.fileSize)) return 'changed size';
  if (range.mtimeNs !== undefined && String(st.mtimeNs) !== range.mtimeNs) return 'was modified';
  if (range.ctimeNs !== undefined && String(st.ctimeNs) !== range.ctimeNs) return 'changed status';
  return undefined;
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a < 0n && q * b !== a ? q - 1n : q;
}

/** Sleeps until `st`'s ctime is older than the racy window (see RACY_MS); true if it slept. */
function waitUntilSettled(st: BigIntStats): boolean {
  const window = st.ctimeNs % 1_000_000_000n === 0n ? COARSE_RACY_MS : RACY_MS;
  const wait = Number(floorDiv(st.ctimeNs, 1_000_000n)) + window + 1 - Date.now();
  // A ctime further ahead than the window is clock skew (a remote file system): no wait would make it old.
  if (wait <= 0 || wait > 2 * window) return false;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait);
  return true;
}

function changed(message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`file ${message}`), { code: 'CHANGED' });
}

function cutAndHash(slice: Uint8Array, cdc: CdcParams): [string, number][] {
  const out: [string, number][] = [];
  let at = 0;
  for (const length of cdcCuts(slice, cdc)) {
    out.push([createHash('sha256').update(slice.subarray(at, at + length)).digest('hex'), length]);
    at += length;
  }
  return out;
}

function readExactly(fd: number, into: Uint8Array, range: ReadRange): void {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, range.offset + done);
    if (n === 0) throw changed('shrank while being read');
    done += n;
  }
}

