/**
 * Whether a local file holds exactly a manifest entry's bytes: the file is cut with the bundle's chunker and
 * hashed range by range (the upload's own `hashRanges`, on this thread), and the chunk list compared with the
 * entry's, stopping at the first difference. For `bundle status --checksum` and `bundle update --checksum`.
 */
import { lstatSync } from 'node:fs';
import { hashRanges } from '../../workers/hash-ranges.js';
import { fsPath } from '../fs-path.js';
import type { ChunkRef, ChunkerSpec, FileEntry } from '../vocab.js';

/** Reusable state of a content check: one buffer of the chunker's range size. */
export class ContentCheck {
  private readonly rangeSize: number;
  private readonly buffer: ArrayBuffer;
  private readonly cdc: { min: number; avg: number; max: number } | undefined;

  constructor(chunker: ChunkerSpec) {
    this.rangeSize = chunker.kind === 'fastcdc' ? chunker.segment : chunker.size;
    this.buffer = new ArrayBuffer(this.rangeSize);
    this.cdc = chunker.kind === 'fastcdc' ? { min: chunker.min, avg: chunker.avg, max: chunker.max } : undefined;
  }

  /**
   * True when the file at `abs` (string form of fs-path.ts; never followed if a link) is a regular file of
   * `entry.size` bytes cutting into exactly `entry.chunks`; false otherwise, and when it cannot be read or
   * changes while read (it is then not known to hold the entry).
   */
  matches(abs: string, entry: FileEntry): boolean {
    const st = lstatSync(fsPath(abs), { throwIfNoEntry: false });
    if (!st?.isFile() || st.size !== entry.size) return false;
    const want: ChunkRef[] = entry.chunks ?? [];
    let at = 0;
    for (let offset = 0; offset < entry.size; offset += this.rangeSize) {
      const length = Math.min(this.rangeSize, entry.size - offset);
      const out = hashRanges({ buffer: this.buffer, ranges: [{ abs, offset, length, fileSize: entry.size }], ...(this.cdc ? { cdc: this.cdc } : {}) });
      if (out.failures?.length) return false;
      const got: ChunkRef[] = out.chunks ? out.chunks[0]! : [[out.digests[0]!, length]];
      for (const [hash, len] of got) {
        const w = want[at++];
        if (!w || w[0] !== hash || w[1] !== len) return false;
      }
    }
    return at === want.length;
  }
}
