/**
 * Plans chunk jobs: files are cut at fixed multiples of the chunk size (so boundaries depend only on content
 * position, never on batching), and consecutive ranges are batched into jobs that fill one buffer: a 4 MiB
 * chunk of a large file, or many small files together, so every pool task carries ≥ 1 MiB of work.
 */
import { entryMtimeNs } from '../times.js';
import type { ReadRange } from '../../workers/hash-ranges.js';
import type { ScanEntry } from '../scan/walk.js';
import type { ChunkRef } from '../vocab.js';

/**
 * A file unchanged since the parent bundle: its chunks there, its exact ctime recorded there (if any), and the
 * attributes recorded there (if any).
 */
export interface KnownFile { chunks: ChunkRef[]; ctimeNs?: string; xattrs?: Record<string, string> }

/** The entry `seq` was scanned; `chunkCount` of its chunks follow in jobs, or its `known` gives them all. */
export interface EntryItem { kind: 'entry'; seq: number; entry: ScanEntry; chunkCount: number }

/** One pool task. `refs[i]` says which entry and chunk `ranges[i]` is. */
export interface JobItem { kind: 'job'; ranges: ReadRange[]; refs: { seq: number; chunk: number }[]; bytes: number }

export interface PlanOptions { chunkSize: number; bufferSize: number; maxRangesPerJob: number }

/**
 * Every entry, in scan order, each followed (eventually) by the jobs carrying its chunks; an entry the file cache
 * found unchanged (`known`, set by file-cache.ts `withParentFiles`) has none.
 */
export async function* planJobs(entries: AsyncIterable<ScanEntry>, opts: PlanOptions): AsyncGenerator<EntryItem | JobItem> {
  let job = emptyJob();
  let seq = 0;
  for await (const entry of entries) {
    if (entry.known) {
      yield { kind: 'entry', seq: seq++, entry, chunkCount: 0 };
      continue;
    }
    const chunkCount = entry.type === 'file' ? Math.ceil(entry.size / opts.chunkSize) : 0;
    yield { kind: 'entry', seq, entry, chunkCount };
    for (let chunk = 0; chunk < chunkCount; chunk++) {
      const offset = chunk * opts.chunkSize;
      const length = Math.min(opts.chunkSize, entry.size - offset);
      if (job.bytes + length > opts.bufferSize || job.ranges.length >= opts.maxRangesPerJob) {
        yield job;
        job = emptyJob();
      }
      job.ranges.push({ abs: entry.abs, offset, length, fileSize: entry.size, ino: entry.ino, mtimeNs: String(entryMtimeNs(entry)), ctimeNs: entry.ctimeNs });
      job.refs.push({ seq, chunk });
      job.bytes += length;
    }
    seq++;
  }
  if (job.ranges.length) yield job;
}

function emptyJob(): JobItem {
  return { kind: 'job', ranges: [], refs: [], bytes: 0 };
}
