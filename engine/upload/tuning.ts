/** The knobs of an upload run, with the defaults bench/ settled on. */
import type { CdcParams } from '../../workers/fastcdc.js';
import type { ChunkerSpec } from '../vocab.js';

export interface Tuning {
  chunkSize: number;
  bufferSize: number;
  maxRangesPerJob: number;
  workers: number;
  concurrency: number;
  budgetBytes: number;
  packSize: number;
  partSize: number;
  pageSize: number;
  checkpointPacks: number;
  /** A file that cannot be read (vanished, unreadable, changed while read) is left out and reported, not fatal. */
  skipOnError?: boolean;
  /** Content-defined chunking within each planned range (`chunkSize` is then the range, a segment). */
  cdc?: CdcParams;
  /** Compress new chunks in the hash workers at this zstd level (0 or absent: none); set from the repo's setting. */
  zstdLevel?: number;
}

const MiB = 1024 * 1024;

/** Defaults, each a starting point for bench/ to settle (DESIGN marks them "tune"). */
export function resolveTuning(overrides: Partial<Tuning> | undefined, chunker: ChunkerSpec): Tuning {
  const chunkSize = chunker.kind === 'fastcdc' ? chunker.segment : chunker.size;
  const t: Tuning = {
    chunkSize, bufferSize: chunkSize, maxRangesPerJob: 1024, workers: 0, concurrency: 4,
    // budget 128 MiB: on 20k × 64 KiB files peak RSS 283 MiB against 410 at 256 MiB, at the same speed.
    budgetBytes: 128 * MiB, packSize: 64 * MiB, partSize: 16 * MiB, pageSize: 10_000, checkpointPacks: 4,
    ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined)),
  };
  t.bufferSize = t.chunkSize;
  if (chunker.kind === 'fastcdc') t.cdc = { min: chunker.min, avg: chunker.avg, max: chunker.max };
  return t;
}
