/**
 * The CPU work of an upload: read byte ranges of files into one reused buffer with synchronous I/O and hash
 * each range (DESIGN §7: sync reads into reused memory run ~1.5× faster than streams here). Pure and
 * synchronous, so it is tested without a pool; `hash-worker.ts` runs it inside piscina.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ReadRange {
  /** Absolute path of the file. */
  abs: string;
  offset: number;
  length: number;
  /** The size the scan saw; a file found larger or smaller was changed while read. */
  fileSize: number;
}

export interface HashTask {
  /** Where the ranges are read to, back to back from offset 0. Moved in and out, never copied. */
  buffer: ArrayBuffer;
  ranges: ReadRange[];
}

/** Why a range could not be read: errno code (`ENOENT`, `EACCES`, ...) or `CHANGED` (size moved under us). */
export interface ReadFailure { code: string; abs: string; message: string }

export interface HashOutcome {
  buffer: ArrayBuffer;
  /** Hex SHA-256 per range, in order; empty when `failure` is set. */
  digests: string[];
  failure?: ReadFailure;
  threadId: number;
}

/** Reads and hashes every range of `task`. A read error is a value (`failure`), so the buffer still comes back. */
export function hashRanges(task: HashTask, threadId = 0): HashOutcome {
  const view = new Uint8Array(task.buffer);
  const digests: string[] = [];
  let at = 0;
  let fd = -1;
  let fdPath = '';
  try {
    for (const range of task.ranges) {
      if (range.abs !== fdPath) {
        if (fd >= 0) closeSync(fd);
        fd = -1;
        fd = openSync(range.abs, 'r');
        fdPath = range.abs;
      }
      const slice = view.subarray(at, at + range.length);
      readExactly(fd, slice, range);
      if (range.offset + range.length === range.fileSize && fstatSync(fd).size !== range.fileSize) {
        return failed(task, threadId, { code: 'CHANGED', abs: range.abs, message: 'file changed size while being read' });
      }
      digests.push(createHash('sha256').update(slice).digest('hex'));
      at += range.length;
    }
    return { buffer: task.buffer, digests, threadId };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return failed(task, threadId, { code: e.code ?? 'EIO', abs: fdPath || task.ranges[0]?.abs || '', message: e.message });
  } finally {
    if (fd >= 0) closeSync(fd);
  }
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

function failed(task: HashTask, threadId: number, failure: ReadFailure): HashOutcome {
  return { buffer: task.buffer, digests: [], failure, threadId };
}
