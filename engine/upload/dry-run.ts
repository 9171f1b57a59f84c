/**
 * `bundle upload --dry-run`: what an upload would take and how much of it the store lacks. The files are walked
 * and hashed exactly as an upload does (the same selection, chunker and file cache), each chunk looked up in
 * the store's index; nothing is written (the store is reached through a read-only decorator) and no read is
 * logged, since no data is read from the store.
 */
import { interruptible } from '../cancel.js';
import { openFormat } from '../meta/format.js';
import { getRepo } from '../meta/repos.js';
import type { ShardSpec } from '../meta/sessions.js';
import { abortable } from '../storage/abortable.js';
import { readOnly } from '../storage/read-only.js';
import type { SkippedFile } from './entry-order.js';
import { type UploadRequest, labelParent, shardSelector, storeTree } from './upload.js';

/** What an upload would store. `newBytes`: bytes of chunks the store does not hold (each counted once). */
export interface UploadPlan {
  files: number; bytes: number; newBytes: number; dedupBytes: number; unchangedBytes: number; skipped: SkippedFile[];
}

/**
 * Plans the upload `req` describes (with `shard`: that shard's share), writing nothing. Errors as for an
 * upload, except that the store must already be a datamover store (FORMAT) with the repo (NOT_FOUND).
 * Packs a killed upload left unindexed are not adopted here (that writes an index): their chunks count as new.
 */
export function planUpload(req: UploadRequest & { shard?: ShardSpec }): Promise<UploadPlan> {
  return interruptible(req.signal, async () => {
    const storage = readOnly(abortable(req.storage, req.signal));
    const format = req.format ?? await openFormat(storage, false);
    await getRepo(storage, req.repo);
    const { parentBundle } = await labelParent(storage, req.repo, req.label);
    const select = shardSelector(req.shard, req.files);
    const stored = await storeTree({ ...req, storage, select, dryRun: true }, format, () => '', parentBundle);
    const { files, bytes, newBytes, dedupBytes, unchangedBytes } = stored.totals;
    return { files, bytes, newBytes, dedupBytes, unchangedBytes, skipped: stored.skipped };
  });
}
