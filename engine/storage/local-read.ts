/**
 * Reads of byte ranges of local files. A small read goes through LoopCalls: the collector reads a thousand
 * index objects of some 50 KiB, and open, read and close on the thread pool cost it more CPU in hand-offs than
 * copying the bytes out of the page cache on the loop does.
 */
import fs, { promises as fsp } from 'node:fs';
import type { LoopCalls } from './loop-calls.js';
import type { ByteRange } from './storage.js';

/** Reads no longer than this are made on the loop (while its calls are cheap): a copy of some 10–50 µs. */
export const LOOP_READ_BYTES = 256 * 1024;

/** Reads `range` of `file` into `into`; returns the bytes read (fewer at the end of the file). Errors: the fs error. */
export async function readRange(file: string, range: ByteRange, into: Uint8Array, calls: LoopCalls): Promise<number> {
  if (range.length > LOOP_READ_BYTES) return readOnPool(file, range, into);
  return calls.run(() => readOnLoop(file, range, into), () => readOnPool(file, range, into));
}

/**
 * Non-blocking: a FIFO put where an object was opens at once and its read fails (ESPIPE), instead of holding the
 * loop — or a pool thread — until something writes to it. Regular files ignore the flag.
 */
export const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

function readOnLoop(file: string, range: ByteRange, into: Uint8Array): number {
  const fd = fs.openSync(file, READ_FLAGS);
  try {
    let length = 0;
    while (length < range.length) {
      const bytesRead = fs.readSync(fd, into, length, range.length - length, range.offset + length);
      if (!bytesRead) break;
      length += bytesRead;
    }
    return length;
  } finally {
    fs.closeSync(fd);
  }
}

async function readOnPool(file: string, range: ByteRange, into: Uint8Array): Promise<number> {
  const fh = await fsp.open(file, READ_FLAGS);
  try {
    let length = 0;
    while (length < range.length) {
      const { bytesRead } = await fh.read(into, length, range.length - length, range.offset + length);
      if (!bytesRead) break;
      length += bytesRead;
    }
    return length;
  } finally {
    await fh.close();
  }
}
