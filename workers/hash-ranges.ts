/**
 * The CPU work of an upload: read byte ranges of files into one reused buffer with synchronous I/O and hash
 * each range (DESIGN §7: sync reads into reused memory run ~1.5× faster than streams here). Pure and
 * synchronous, so it is tested without a pool; `hash-worker.ts` runs it inside piscina.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { fsPath } from '../engine/fs-path.js';
import { type CdcParams, cdcCuts } from './fastcdc.js';

export interface ReadRange {
  /** Absolute path of the file (string form of engine/fs-path.ts: bytes that are not UTF-8 escaped). */
  abs: string;
  offset: number;
  length: number;
  /** The size the scan saw; a file found larger or smaller was changed while read. */
  fileSize: number;
  /** The inode the scan saw; another inode at the path means the file was replaced since. */
  ino?: number;
}

export interface HashTask {
  /** Where the ranges are read to, back to back from offset 0. Moved in and out, never copied. */
  buffer: ArrayBuffer;
  ranges: ReadRange[];
  /** Content-defined chunking: each range is cut into chunks (`chunks` of the outcome) instead of being one. */
  cdc?: CdcParams;
}

/** Why a range could not be read: errno code (`ENOENT`, `EACCES`, ...) or `CHANGED` (size moved under us). */
export interface ReadFailure { code: string; abs: string; message: string }

export interface HashOutcome {
  buffer: ArrayBuffer;
  /** Hex SHA-256 per range, in order; '' for a range that failed (or was cut into `chunks`). */
  digests: string[];
  /** With `cdc`: per range, its chunks as [hex SHA-256, length] in order ([] for a range that failed). */
  chunks?: [string, number][][];
  /** The first failure, if any. */
  failure?: ReadFailure;
  /** Every failed range (by index). Once a file fails, its later ranges in the task fail with it. */
  failures?: (ReadFailure & { index: number })[];
  threadId: number;
}

/**
 * Reads and hashes every range of `task`. A read error is a value (`failures`), so the buffer still comes back
 * and the ranges of other files in the task are still hashed.
 */
export function hashRanges(task: HashTask, threadId = 0): HashOutcome {
  const view = new Uint8Array(task.buffer);
  const digests: string[] = [];
  const chunks: [string, number][][] | undefined = task.cdc ? [] : undefined;
  const failures: (ReadFailure & { index: number })[] = [];
  const failedFiles = new Map<string, ReadFailure>();
  let at = 0;
  let fd = -1;
  let fdPath = '';
  try {
    task.ranges.forEach((range, index) => {
      const slice = view.subarray(at, at + range.length);
      at += range.length;
      const earlier = failedFiles.get(range.abs);
      if (earlier) {
        failures.push({ ...earlier, index });
        digests.push('');
        chunks?.push([]);
        return;
      }
      try {
        if (range.abs !== fdPath) {
          if (fd >= 0) closeSync(fd);
          fd = -1;
          fdPath = range.abs;
          // Never through a symlink: a file swapped for a link since the scan fails with ELOOP.
          fd = openSync(fsPath(range.abs), constants.O_RDONLY | constants.O_NOFOLLOW);
          if (range.ino !== undefined && fstatSync(fd).ino !== range.ino) {
            throw Object.assign(new Error('file was replaced since the scan'), { code: 'CHANGED' });
          }
        }
        readExactly(fd, slice, range);
        if (range.offset + range.length === range.fileSize && fstatSync(fd).size !== range.fileSize) {
          throw Object.assign(new Error('file changed size while being read'), { code: 'CHANGED' });
        }
        if (chunks) {
          chunks.push(cutAndHash(slice, task.cdc!));
          digests.push('');
        } else {
          digests.push(createHash('sha256').update(slice).digest('hex'));
        }
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        const failure = { code: e.code ?? 'EIO', abs: range.abs, message: e.message };
        failedFiles.set(range.abs, failure);
        failures.push({ ...failure, index });
        digests.push('');
        chunks?.push([]);
      }
    });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
  const outcome: HashOutcome = { buffer: task.buffer, digests, threadId, ...(chunks ? { chunks } : {}) };
  return failures.length ? { ...outcome, failure: failures[0], failures } : outcome;
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
    if (n === 0) {
      const e = new Error('file shrank while being read') as NodeJS.ErrnoException;
      e.code = 'CHANGED';
      throw e;
    }
    done += n;
  }
}

