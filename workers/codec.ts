/**
 * Chunk compression: zstd, per chunk, in the hash workers (compress) and wherever stored bytes are read
 * (decompress). Stored bytes say how they are encoded only through their index entry or pack trailer entry
 * (`codec`); a chunk's id stays the SHA-256 of its plaintext, so compressed and raw copies dedup alike.
 *
 * Why this binding (docs/compression.md): Node 20, this package's minimum, has no zstd in zlib (it came in
 * 22.15), and WebAssembly builds run at a fraction of native speed. `@mongodb-js/zstd` was the first choice:
 * its 2.x and later lines fetch a prebuilt binary from GitHub (or build zstd from a downloaded source) in an
 * install script, which fails offline and where install scripts are not allowed; its 1.2.x line installs from
 * the registry alone but ignores the level it is given (measured: the same frame at levels 1, 3, 9 and 19,
 * zstd's level 3). `@toondepauw/node-zstd` ships the compiled library in per-platform npm packages too, honours
 * levels, and has synchronous calls: a hash worker compresses on its own thread, no pool in between.
 */
import { Decoder, Encoder } from '@toondepauw/node-zstd';
import type { BlobLocation } from '../engine/vocab.js';
import { madeNativeBuffer } from './native-buffers.js';

/** How a stored blob is encoded; absent: raw. */
export type Codec = NonNullable<BlobLocation['codec']>;

/**
 * Chunks shorter than this are stored raw, untried. The binding builds a fresh zstd context (megabytes, set up
 * for an unknown input size) on every call: on 200,000 files of 1 KiB that took the upload from 14 to 33–42 s
 * of CPU and its peak RSS from 262 to 490 MiB, to save at most a few KiB a chunk. Above 4 KiB the chunk's own
 * compression outweighs the set-up.
 */
const MIN_TRIED_BYTES = 4096;
/** Chunks up to this long are compressed whole; longer ones only if a sample of them compresses. */
const SAMPLE_BYTES = 8 * 1024;
const SAMPLE_PIECES = 4;
/** A sample must shrink to this share of its size, and a whole chunk too, or the chunk is stored raw. */
const KEEP_RATIO = 0.9;
/**
 * Bits per byte of a chunk's probe (PROBE_PIECES pieces of PROBE_PIECE_BYTES spread across it) above which the
 * chunk is stored raw untried. Random bytes measure 7.91 over a 2 KiB probe. To shrink to KEEP_RATIO on byte
 * frequencies alone a chunk needs under 7.2; near-uniform bytes that repeat (a random block copied) measure
 * about 7 and are still tried.
 */
const MAX_PROBE_ENTROPY = 7.8;
const PROBE_PIECES = 4;
const PROBE_PIECE_BYTES = 512;

/**
 * `data` compressed at zstd `level`, or undefined when storing it raw is better: it is under MIN_TRIED_BYTES; its
 * bytes look random (`looksRandom`); a sample taken across a chunk longer than SAMPLE_BYTES (SAMPLE_PIECES
 * pieces) does not compress at level 1; or the whole does not shrink by a tenth. The sample costs ~0.2% of
 * compressing a 4 MiB chunk, so incompressible data (media, archives, encrypted files) costs almost nothing more
 * than with compression off.
 */
export function compressChunk(data: Uint8Array, level: number): Buffer | undefined {
  if (data.length < MIN_TRIED_BYTES || looksRandom(data)) return undefined;
  if (data.length > SAMPLE_BYTES) {
    const sample = sampleOf(data);
    if (encoder(1).encodeSync(sample).length > sample.length * KEEP_RATIO) return undefined;
  }
  const out = encoder(level).encodeSync(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  return out.length <= data.length * KEEP_RATIO ? out : undefined;
}

/** One encoder per level and thread (each worker thread loads its own copy of this module), used synchronously. */
const encoders = new Map<number, Encoder>();
function encoder(level: number): Encoder {
  let e = encoders.get(level);
  if (!e) encoders.set(level, e = new Encoder(level));
  return e;
}

/**
 * Whether the byte histogram of a probe across `data` (at least PROBE_PIECE_BYTES long) is too flat to be worth
 * a zstd call (MAX_PROBE_ENTROPY). Each call costs the binding a fresh context: on 200,000 random 4 KiB files
 * that took the upload from 14 to 33 s and its peak RSS to 1.1 GiB, and sampling 20,000 random 64 KiB files
 * took that upload's from 320 to 380–470 MiB. The probe costs about 5 µs; counting a whole 8 KiB sample was 20,
 * half as much again as hashing a 64 KiB chunk.
 */
export function looksRandom(data: Uint8Array): boolean {
  const counts = new Uint32Array(256);
  const probed = PROBE_PIECES * PROBE_PIECE_BYTES;
  forEachPiece(data.length, PROBE_PIECES, PROBE_PIECE_BYTES, (start, end) => {
    for (let i = start; i < end; i++) counts[data[i]!]!++;
  });
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b]!;
    if (c) bits -= c * Math.log2(c / probed);
  }
  return bits / probed > MAX_PROBE_ENTROPY;
}

/** SAMPLE_PIECES evenly spaced pieces of `data`, back to back. */
function sampleOf(data: Uint8Array): Buffer {
  const piece = SAMPLE_BYTES / SAMPLE_PIECES;
  const out = Buffer.allocUnsafe(SAMPLE_BYTES);
  let at = 0;
  forEachPiece(data.length, SAMPLE_PIECES, piece, (start, end) => { out.set(data.subarray(start, end), at); at += piece; });
  return out;
}

/** `pieces` ranges of `pieceBytes` spread evenly over `length` bytes, the first at 0 and the last at the end. */
function forEachPiece(length: number, pieces: number, pieceBytes: number, visit: (start: number, end: number) => void): void {
  const step = Math.floor((length - pieceBytes) / (pieces - 1));
  for (let p = 0; p < pieces; p++) visit(p * step, p * step + pieceBytes);
}

/**
 * The plaintext of stored bytes `stored` encoded with `codec` (raw: `stored` itself). Throws when they do not
 * decode; the caller turns that into damage naming the chunk and its pack. Asynchronous (off the calling
 * thread), with a decoder of its own: readers on the main thread decode many chunks at once.
 */
export async function decodeBlob(stored: Uint8Array, codec: Codec | undefined): Promise<Buffer> {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (codec === undefined) return bytes;
  const plain = await new Decoder().decode(bytes);
  madeNativeBuffer(plain.length);
  return plain;
}
