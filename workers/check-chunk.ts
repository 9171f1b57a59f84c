/** The one check of stored bytes against their chunk: shared by restore workers, verify, fsck, gc and readers. */
import { createHash } from 'node:crypto';
import { type Codec, decodeBlob } from './codec.js';

/**
 * Why `bytes` (read from `pack` for a chunk of `length` bytes and SHA-256 `hash`) cannot be used, as a phrase
 * to follow "chunk <hash>"; undefined when they are the chunk.
 */
export function chunkDamage(bytes: Uint8Array, length: number, hash: string, pack: string): string | undefined {
  if (bytes.length !== length) return `is in pack ${pack}, which is truncated`;
  return createHash('sha256').update(bytes).digest('hex') === hash ? undefined : 'does not match its hash';
}

/** A chunk's plaintext, or why its stored bytes cannot give it (a phrase to follow "chunk <hash>"). */
export type OpenedChunk = { data: Buffer; damage?: undefined } | { data?: undefined; damage: string };

/**
 * The plaintext of a blob stored as `stored` (`length` bytes expected, encoded with `codec`) in `pack`, checked
 * against `hash` after decoding: the hash names the plaintext, so a compressed copy is checked as strictly as
 * a raw one. Bytes that do not decode are damage naming the pack.
 */
export async function openChunk(stored: Uint8Array, length: number, codec: Codec | undefined, hash: string, pack: string): Promise<OpenedChunk> {
  if (codec === undefined) {
    const damage = chunkDamage(stored, length, hash, pack);
    return damage === undefined ? { data: Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength) } : { damage };
  }
  if (stored.length !== length) return { damage: `is in pack ${pack}, which is truncated` };
  let data: Buffer;
  try {
    data = await decodeBlob(stored, codec);
  } catch (err) {
    return { damage: `is in pack ${pack}, whose ${codec} bytes for it do not decode (${(err as Error).message})` };
  }
  return createHash('sha256').update(data).digest('hex') === hash ? { data } : { damage: 'does not match its hash' };
}
