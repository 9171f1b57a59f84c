/**
 * Sweep (docs/gc.md, collector step 4): for condemnations past their grace whose blockers are gone — a sweep
 * record, a second mark (whatever a writer committed meanwhile rescues its packs), the new index, the old index
 * objects, the packs, and last the records. Each deletion comes after the writes that make it safe, so a kill
 * at any point leaves garbage for the next run, never a reference to something gone.
 */
import type { Reporter } from '../events.js';
import { CompactBlobIndex } from '../meta/compact-index.js';
import { newId } from '../meta/ids.js';
import { writeIndexLines } from '../meta/index-writer.js';
import { putJson } from '../meta/objects.js';
import type { Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import type { IndexSnapshot } from './index-snapshot.js';
import { type Marked, claimLiveChunks, placeClaims } from './mark.js';
import { type CondemnedRecord, gcKeys } from './records.js';

export interface SweepOutcome { packs: number; bytes: number; rescued: string[]; indexReplaced: number; indexWritten: number }

/** Entries per index object the collector writes: a few MiB gzipped, read in one request. */
const ENTRIES_PER_INDEX = 200_000;
/** Index objects beyond which the collector merges them even when no pack goes. */
export const MERGE_INDEX_OBJECTS = 32;

export async function sweep(
  storage: Storage, eligible: readonly CondemnedRecord[], packSizes: ReadonlyMap<string, number>, firstMark: Marked,
  snapshot: IndexSnapshot, report: Reporter, signal?: AbortSignal,
): Promise<SweepOutcome> {
  const doomed = new Set(eligible.flatMap((c) => c.packs));
  const sweepId = newId();
  await putJson(storage, gcKeys.sweep(sweepId), { id: sweepId, condemned: eligible.map((c) => c.id), packs: [...doomed] }, { ifAbsent: true });
  report({ type: 'gc.phase', phase: 'sweep-mark' });
  const rescued = await packsStillNeeded(storage, doomed, firstMark, snapshot, signal);
  for (const p of rescued) doomed.delete(p);
  const { written, superseded } = await replaceIndex(storage, snapshot, doomed);
  report({ type: 'gc.phase', phase: 'delete-packs' });
  let bytes = 0;
  const packKeys = [...doomed].map((p) => { bytes += packSizes.get(p) ?? 0; return keys.pack(p); });
  await Promise.all([deleteAll(storage, superseded, signal), deleteAll(storage, packKeys, signal)]);
  await storage.delete(eligible.flatMap((c) => [gcKeys.condemned(c.id), gcKeys.blockers(c.id)]));
  await storage.delete([gcKeys.sweep(sweepId)]);
  return { packs: packKeys.length, bytes, rescued, indexReplaced: written ? snapshot.objectKeys.length : 0, indexWritten: written };
}

async function deleteAll(storage: Storage, keyList: readonly string[], signal?: AbortSignal): Promise<void> {
  for (let i = 0; i < keyList.length; i += 1000) {
    signal?.throwIfAborted();
    await storage.delete(keyList.slice(i, i + 1000));
  }
}

/**
 * The second mark: which of the `doomed` packs a live chunk needs now. The snapshot is listed again after the
 * sweep record, so index objects written since the first mark are read; only the packs about to go are
 * deferred, so a chunk that has any other location needs none of them. Placed again: the pages no mark has
 * read yet, the first mark's chunks placed in a doomed pack, and those it could not place. Any other live
 * chunk keeps its place, in a pack this sweep keeps, through an index object that is still there — unless an
 * object was dropped since, and then every live chunk is placed again.
 */
async function packsStillNeeded(
  storage: Storage, doomed: ReadonlySet<string>, firstMark: Marked, snapshot: IndexSnapshot,
  signal?: AbortSignal,
): Promise<string[]> {
  const dropped = await snapshot.refresh(storage, signal);
  const again = new CompactBlobIndex();
  firstMark.live.forEachLocation((pack, _offset, _length, words, start) => { if (dropped || doomed.has(pack)) again.claimWords(words, start); });
  firstMark.live.forEachUnplaced((words, start) => again.claimWords(words, start));
  await claimLiveChunks(storage, again, { signal, skip: firstMark.pageKeys });
  const needed = placeClaims({ live: again, pageKeys: new Set(), repos: [] }, snapshot, doomed).livePackBytes;
  return [...doomed].filter((p) => needed.has(p));
}

/**
 * Writes the index anew without the entries of `gone` (merged into few objects), then deletes the objects
 * `snapshot` holds that name a pack of `gone`; the others it holds are returned, `superseded`: the new index
 * has all their entries, so they may go at any time after it, as the packs go. Every location outside `gone`
 * is kept, not only the one the loaded map chose: a chunk stored twice keeps both places, so the loss of one
 * later never loses the chunk. Objects written after the snapshot's last refresh are left alone. `written`:
 * how many objects were written (0: nothing to replace, nothing superseded).
 */
export async function replaceIndex(storage: Storage, snapshot: IndexSnapshot, gone: ReadonlySet<string>): Promise<{ written: number; superseded: string[] }> {
  const replaced = snapshot.objectKeys;
  if (!gone.size && replaced.length <= MERGE_INDEX_OBJECTS) return { written: 0, superseded: [] };
  const written = await writeIndexLines(storage, snapshot.lineChunks(gone), ENTRIES_PER_INDEX);
  const naming = new Set(snapshot.objectsNaming(gone));
  await deleteAll(storage, [...naming]);
  return { written, superseded: replaced.filter((key) => !naming.has(key)) };
}
