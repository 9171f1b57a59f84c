/**
 * `gc` (docs/gc.md): revoke expired leases, mark, repack and condemn, sweep what is past its grace, tidy up.
 * Safe while uploads run (no lock stops them); one gc at a time (GcLock). `dryRun` writes nothing.
 */
import { integrityError, usageError } from '../errors.js';
import { type Reporter, silentReporter } from '../events.js';
import { listPacks } from '../meta/blob-index.js';
import { CompactBlobIndex } from '../meta/compact-index.js';
import { openFormat } from '../meta/format.js';
import { newId } from '../meta/ids.js';
import { putJson } from '../meta/objects.js';
import type { Storage } from '../storage/storage.js';
import { resolveTuning } from '../upload/tuning.js';
import { removeLeftovers, revokeExpiredLeases } from './housekeeping.js';
import { IndexSnapshot } from './index-snapshot.js';
import { GcLock } from './lock.js';
import { claimLiveChunks, placeClaims } from './mark.js';
import {
  type CondemnedRecord, blockersRecord, condemnedRecord, gcKeys, idOfKey, leaseRecord, listRecords,
} from './records.js';
import { sweep } from './sweep.js';

export interface GcOptions {
  /** Unused fraction above which a pack is repacked (0..1). Default 0.1. */
  maxUnused?: number;
  /** How long a condemned pack, a session or a staged write waits before it is deleted. Default 24 h. */
  graceMs?: number;
  dryRun?: boolean;
  reporter?: Reporter;
  signal?: AbortSignal;
}

export interface GcResult {
  dryRun: boolean;
  pages: number;
  liveChunks: number;
  liveBytes: number;
  packs: number;
  packBytes: number;
  /** Condemned by this run (would be, with dryRun): unused and unindexed packs, and repacked ones. */
  condemned: { packs: number; bytes: number; unused: number; unindexed: number; repacked: number };
  repacked: { packs: number; newPacks: number; blobs: number; bytes: number };
  /** Deleted by this run. */
  swept: { packs: number; bytes: number; rescued: number; indexReplaced: number; indexWritten: number };
  /** Condemned packs waiting for their grace period or for writers that started before them. */
  waiting: { packs: number; bytes: number };
  /** Bytes a gc would reclaim now: unused packs plus the unused share of packs it would repack. */
  reclaimableBytes: number;
  leasesRevoked: number;
  sessionsRemoved: number;
  pagesRemoved: number;
  uploadsAborted: number;
  problems: string[];
}

export const DEFAULT_GRACE_MS = 24 * 3600_000;

/** Runs one collection. Errors: CONFLICT (another gc holds the lock), INTEGRITY (a damaged index object or page, or a live chunk in no index object: nothing is deleted), STORAGE. */
export async function collectGarbage(storage: Storage, opts: GcOptions = {}): Promise<GcResult> {
  const maxUnused = opts.maxUnused ?? 0.1;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  if (!(maxUnused >= 0 && maxUnused <= 1)) throw usageError(`max-unused ${maxUnused} is out of range (0 to 100%)`);
  if (!(graceMs >= 0) || !Number.isFinite(graceMs)) throw usageError(`grace ${graceMs} is not a duration`);
  const format = await openFormat(storage, false);
  const lock = opts.dryRun ? undefined : await GcLock.take(storage);
  try {
    return await collect(storage, { ...opts, maxUnused, graceMs }, resolveTuning({}, format.chunker));
  } finally {
    await lock?.release();
  }
}

async function collect(
  storage: Storage, opts: GcOptions & { maxUnused: number; graceMs: number }, tuning: ReturnType<typeof resolveTuning>,
): Promise<GcResult> {
  const report = opts.reporter ?? silentReporter;
  const dry = !!opts.dryRun;
  const leasesRevoked = dry ? 0 : await revokeExpiredLeases(storage);
  const pending = await listRecords(storage, gcKeys.condemnedPrefix, condemnedRecord, (k) => !k.endsWith('.blockers.json'));
  const allCondemned = new Set(pending.flatMap((c) => c.record.packs));
  report({ type: 'gc.phase', phase: 'mark' });
  // Strict load: a damaged index object could hide the only entry of a live chunk, and its pack would look unused.
  // The pages are read meanwhile: neither needs the other until the claims are placed.
  // The packs are listed meanwhile too: a pack written after its listing is not judged by this run, and one
  // listed before its index object was read is judged unindexed — as for a pack listed after the mark, the
  // lease of the writer still writing it blocks the sweep (docs/gc.md).
  const snapshot = new IndexSnapshot();
  const [, claimed, packSizes] = await settleAll(
    snapshot.refresh(storage, opts.signal), claimLiveChunks(storage, new CompactBlobIndex(), opts), listPacks(storage),
  );
  const marked = placeClaims(claimed, snapshot, allCondemned);
  const result = emptyResult(dry, marked.pageKeys.size, marked.live.size - marked.unindexed, packSizes);
  for (const bytes of marked.livePackBytes.values()) result.liveBytes += bytes;
  if (marked.unindexed) {
    const problem = `${marked.unindexed} live chunk(s) are in no index object`;
    // An unindexed pack may be the only copy of them: a collector that went on would delete it.
    if (!dry) throw integrityError(`${problem}: nothing deleted; run datamover fsck`);
    result.problems.push(`${problem}: run datamover fsck`);
  }

  const unused = new Map<string, 'unused' | 'unindexed'>();
  const toRepack = new Set<string>();
  const dataEnd = snapshot.packExtents();
  for (const pack of packSizes.keys()) {
    if (allCondemned.has(pack)) continue;
    const live = marked.livePackBytes.get(pack) ?? 0;
    const data = dataEnd.get(pack);
    if (data === undefined) unused.set(pack, 'unindexed');
    else if (live === 0) unused.set(pack, 'unused');
    else if (data > live && (data - live) / data > opts.maxUnused) toRepack.add(pack);
  }
  for (const [pack] of unused) result.reclaimableBytes += packSizes.get(pack) ?? 0;
  for (const pack of toRepack) result.reclaimableBytes += (dataEnd.get(pack) ?? 0) - (marked.livePackBytes.get(pack) ?? 0);

  const condemn: CondemnedRecord = { id: newId(), created: new Date().toISOString(), packs: [], reason: {} };
  for (const [pack, why] of unused) { condemn.packs.push(pack); condemn.reason[pack] = why; }
  if (toRepack.size && !dry) {
    report({ type: 'gc.phase', phase: 'repack' });
    // Loaded only to repack: with it come the packer and the zstd binding, which a run that repacks nothing never needs.
    const { repackPacks } = await import('./repack.js');
    const repacked = await repackPacks(storage, toRepack, marked.live, tuning, opts.signal);
    result.repacked = { packs: repacked.packs.length, newPacks: repacked.newPacks, blobs: repacked.blobs, bytes: repacked.bytes };
    for (const d of repacked.damaged) result.problems.push(`pack ${d.pack}: a live chunk ${d.reason}; not repacked (run datamover fsck --read-data)`);
    for (const pack of repacked.packs) { condemn.packs.push(pack); condemn.reason[pack] = 'repacked'; }
  } else if (toRepack.size) {
    result.repacked.packs = toRepack.size;
  }
  tallyCondemned(result, condemn, packSizes, dry ? toRepack.size : 0);
  if (dry) return finishDry(result, pending.map((p) => p.record), packSizes);
  if (condemn.packs.length) await writeCondemnation(storage, condemn);

  const condemnations = [...pending.map((c) => c.record), ...(condemn.packs.length ? [condemn] : [])];
  const eligible = await eligibleCondemnations(storage, condemnations, opts.graceMs);
  const waitingPacks = new Set([...allCondemned, ...condemn.packs]);
  if (eligible.length) {
    const swept = await sweep(storage, eligible, packSizes, marked, snapshot, report, opts.signal);
    result.swept = { packs: swept.packs, bytes: swept.bytes, rescued: swept.rescued.length, indexReplaced: swept.indexReplaced, indexWritten: swept.indexWritten };
    for (const c of eligible) for (const p of c.packs) waitingPacks.delete(p);
  }
  for (const p of waitingPacks) { result.waiting.packs++; result.waiting.bytes += packSizes.get(p) ?? 0; }
  report({ type: 'gc.phase', phase: 'housekeeping' });
  Object.assign(result, await removeLeftovers(storage, opts.graceMs, marked.repos));
  result.leasesRevoked = leasesRevoked;
  return result;
}

/** Waits for all to settle (no work is left running), then returns their values or throws the first failure. */
async function settleAll<T extends readonly unknown[]>(...work: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** The condemnation, then (once it is visible) the leases that exist: its blockers (docs/gc.md, collector step 3). */
async function writeCondemnation(storage: Storage, record: CondemnedRecord): Promise<void> {
  await putJson(storage, gcKeys.condemned(record.id), record, { ifAbsent: true });
  const leases: string[] = [];
  for await (const e of storage.list(gcKeys.leasesPrefix)) leases.push(idOfKey(e.key));
  await putJson(storage, gcKeys.blockers(record.id), { id: record.id, leases }, { ifAbsent: true });
}

/**
 * Of `records` (the condemnations read at the start of this run, and its own; the lock keeps other collectors
 * from adding any), those older than the grace period whose blockers are all gone. One without its blockers
 * record (a gc killed in between) is never swept; it is deleted, which only lets writers use its packs again.
 */
async function eligibleCondemnations(storage: Storage, records: readonly CondemnedRecord[], graceMs: number): Promise<CondemnedRecord[]> {
  const blockers = new Map((await listRecords(storage, gcKeys.condemnedPrefix, blockersRecord, (k) => k.endsWith('.blockers.json')))
    .map((b) => [b.record.id, b.record.leases]));
  const live = new Set((await listRecords(storage, gcKeys.leasesPrefix, leaseRecord)).map((l) => l.record.id));
  const now = Date.now();
  const eligible: CondemnedRecord[] = [];
  for (const record of records) {
    const blocking = blockers.get(record.id);
    if (!blocking) {
      await storage.delete([gcKeys.condemned(record.id)]);
      continue;
    }
    if (now - Date.parse(record.created) < graceMs) continue;
    if (blocking.some((id) => live.has(id))) continue;
    eligible.push(record);
  }
  return eligible;
}

function emptyResult(dryRun: boolean, pages: number, liveChunks: number, packSizes: Map<string, number>): GcResult {
  let packBytes = 0;
  for (const size of packSizes.values()) packBytes += size;
  return {
    dryRun, pages, liveChunks, liveBytes: 0, packs: packSizes.size, packBytes,
    condemned: { packs: 0, bytes: 0, unused: 0, unindexed: 0, repacked: 0 },
    repacked: { packs: 0, newPacks: 0, blobs: 0, bytes: 0 },
    swept: { packs: 0, bytes: 0, rescued: 0, indexReplaced: 0, indexWritten: 0 },
    waiting: { packs: 0, bytes: 0 }, reclaimableBytes: 0,
    leasesRevoked: 0, sessionsRemoved: 0, pagesRemoved: 0, uploadsAborted: 0, problems: [],
  };
}

function tallyCondemned(result: GcResult, record: CondemnedRecord, packSizes: Map<string, number>, wouldRepack: number): void {
  for (const pack of record.packs) {
    result.condemned.packs++;
    result.condemned.bytes += packSizes.get(pack) ?? 0;
    result.condemned[record.reason[pack]!]++;
  }
  result.condemned.repacked += wouldRepack;
  result.condemned.packs += wouldRepack;
}

function finishDry(result: GcResult, pending: CondemnedRecord[], packSizes: Map<string, number>): GcResult {
  for (const c of pending) for (const p of c.packs) { result.waiting.packs++; result.waiting.bytes += packSizes.get(p) ?? 0; }
  return result;
}
