/**
 * File bytes from a reader to a response: read piece by piece, one piece ahead (so fetching and sending
 * overlap), written with backpressure. Every byte comes from `reader.read`, which checks every chunk's hash.
 */
import type { ServerResponse } from 'node:http';
import { interruptedError } from '../cancel.js';
import { integrityError } from '../errors.js';
import { displayName } from '../fs-path.js';
import type { BundleReader } from '../read/bundle-reader.js';

/** Bytes asked of the reader at a time: small enough for a fast first byte, large enough to be cheap. */
export const PIECE_BYTES = 1024 * 1024;

/**
 * `length` bytes of file `path` from `start`, in pieces. A reader that returns fewer bytes than the manifest
 * promised fails with INTEGRITY (never a short answer passed off as whole).
 */
export async function* pieces(reader: BundleReader, path: string, start: number, length: number, signal: AbortSignal): AsyncGenerator<Buffer> {
  const end = start + length;
  const ask = (at: number) => {
    const p = reader.read(path, at, Math.min(PIECE_BYTES, end - at), signal);
    p.catch(() => undefined); // awaited below; a failure while the previous piece is being sent is not unhandled
    return p;
  };
  let at = start;
  let next = at < end ? ask(at) : undefined;
  while (next) {
    const piece = await next;
    if (piece.length === 0) throw integrityError(`${displayName(path)}: the file ends at byte ${at}, before its recorded size`);
    at += piece.length;
    next = at < end ? ask(at) : undefined;
    yield piece;
  }
}

/** Writes `data`; waits for the socket to drain when its buffer is full. INTERRUPTED when the client goes away. */
export async function writeOut(res: ServerResponse, data: Buffer, signal: AbortSignal): Promise<void> {
  if (signal.aborted) throw interruptedError();
  if (res.write(data)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => { signal.removeEventListener('abort', gone); resolve(); };
    const gone = () => { res.off('drain', drained); reject(interruptedError()); };
    res.once('drain', drained);
    signal.addEventListener('abort', gone, { once: true });
  });
}
