/** The one check of stored bytes against their chunk: shared by restore workers, verify and fsck. */
import { createHash } from 'node:crypto';

/**
 * Why `bytes` (read from `pack` for a chunk of `length` bytes and SHA-256 `hash`) cannot be used, as a phrase
 * to follow "chunk <hash>"; undefined when they are the chunk.
 */
export function chunkDamage(bytes: Uint8Array, length: number, hash: string, pack: string): string | undefined {
  if (bytes.length !== length) return `is in pack ${pack}, which is truncated`;
  return createHash('sha256').update(bytes).digest('hex') === hash ? undefined : 'does not match its hash';
}
