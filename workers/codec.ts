/**
 * Chunk compression: zstd, per chunk, in the hash workers (compress) and wherever stored bytes are read
 * (decompress). Stored bytes say how they are encoded only through their index entry or pack trailer entry
 * (`codec`); a chunk's id stays the SHA-256 of its plaintext, so compressed and raw copies dedup alike.
 *
 * Why a binding and which: Node 20 (this package's minimum) has no zstd in zlib (it came in 22.15), and a
 * WebAssembly build runs at a fraction of native speed. `@mongodb-js/zstd` is MongoDB's maintained binding;
 * its 1.2.x line ships the compiled library inside per-platform npm packages (optional dependencies), so
 * `npm ci` needs nothing but the registry. Its 2.x and later lines fetch a prebuilt binary from GitHub at install
 * time (or build zstd from a downloaded source) through an install script: that fails offline and where install
 * scripts are not allowed. Its calls run on libuv's thread pool; a worker awaits them one at a time.
 */
import { compress, decompress } from '@mongodb-js/zstd';
import type { BlobLocation } from '../engine/vocab.js';

/** How a stored blob is encoded; absent: raw. */
export type Codec = NonNullable<BlobLocation['codec']>;

/** Chunks up to this long are compressed whole; longer ones only if a sample of them compresses. */
const SAMPLE_BYTES = 8 * 1024;
const SAMPLE_PIECES = 4;
/** A sample must shrink to this share of its size, and a whole chunk too, or the chunk is stored raw. */
const KEEP_RATIO = 0.9;

/**
 * `data` compressed at zstd `level`, or undefined when storing it raw is better: a sample taken across it
 * (SAMPLE_PIECES pieces, SAMPLE_BYTES in all) does not compress at level 1, or the whole does not shrink by a
 * tenth. The sample costs ~0.2% of compressing a 4 MiB chunk, so incompressible data (media, archives,
 * encrypted files) costs almost nothing more than with compression off.
 */
export async function compressChunk(data: Uint8Array, level: number): Promise<Buffer | undefined> {
  if (data.length > SAMPLE_BYTES) {
    const sample = sampleOf(data);
    if ((await compress(sample, 1)).length > sample.length * KEEP_RATIO) return undefined;
  }
  const out = await compress(Buffer.from(data.buffer, data.byteOffset, data.byteLength), level);
  return out.length <= data.length * KEEP_RATIO ? out : undefined;
}

/** SAMPLE_PIECES evenly spaced pieces of `data`, back to back. */
function sampleOf(data: Uint8Array): Buffer {
  const piece = SAMPLE_BYTES / SAMPLE_PIECES;
  const step = Math.floor((data.length - piece) / (SAMPLE_PIECES - 1));
  const out = Buffer.allocUnsafe(SAMPLE_BYTES);
  for (let i = 0; i < SAMPLE_PIECES; i++) out.set(data.subarray(i * step, i * step + piece), i * piece);
  return out;
}

/**
 * The plaintext of stored bytes `stored` encoded with `codec` (raw: `stored` itself). Throws when they do not
 * decode; the caller turns that into damage naming the chunk and its pack.
 */
export async function decodeBlob(stored: Uint8Array, codec: Codec | undefined): Promise<Buffer> {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (codec === undefined) return bytes;
  return decompress(bytes);
}
