/**
 * A file's content id: one hash that names a file's bytes as the manifest records them, so two listings can
 * be compared file by file without reading any pack. The format records no whole-file hash, so the id is
 * taken over the file's chunk list.
 */
import { createHash } from 'node:crypto';
import type { ChunkRef } from '../vocab.js';

/**
 * SHA-256, as 64 lowercase hex digits, over the file's chunks in order, each written as its hex hash, one
 * space, its length in decimal and a newline (`<hash> <length>\n`); an empty file has no chunks and so the
 * id of the empty string. Equal ids mean equal bytes; two stores with different chunkers (fixed, fastcdc)
 * cut the same bytes differently, so their ids for one file differ.
 */
export function contentId(chunks: readonly ChunkRef[]): string {
  const hash = createHash('sha256');
  for (const [chunk, length] of chunks) hash.update(`${chunk} ${length}\n`);
  return hash.digest('hex');
}
