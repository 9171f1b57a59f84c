/**
 * `fsck --repair-index`: rebuilds the blob index from the packs. Every pack's trailer is read; the blobs it
 * lists that no intact index object holds are hashed against their bytes and written to a new index object.
 * Damaged index objects are then superseded when every pack of the store has entries in the rebuilt index, and
 * are removed; otherwise (a pack without a usable trailer may be known only to them) they are kept and named.
 */
import { type Adoption, adoptPacks } from '../meta/adopt-packs.js';
import { listPacks } from '../meta/blob-index.js';
import type { Storage } from '../storage/storage.js';
import { loadBlobIndex } from '../meta/blob-index.js';

export interface IndexRepair {
  indexed: Adoption;
  /** Damaged index objects removed, superseded by the rebuilt index. */
  removed: string[];
  /** Damaged index objects kept, and why. */
  kept: { key: string; reason: string }[];
}

export async function repairIndex(storage: Storage): Promise<IndexRepair> {
  const index = await loadBlobIndex(storage, { tolerateDamage: true });
  const { damaged } = index;
  const packs = await listPacks(storage);
  const indexed = await adoptPacks(storage, index, packs);
  const uncovered = [...packs.keys()].filter((pack) => !index.hasPack(pack));
  const repair: IndexRepair = { indexed, removed: [], kept: [] };
  if (!damaged.length) return repair;
  if (uncovered.length) {
    const reason = `${uncovered.length} pack(s) (first ${uncovered[0]!.slice(0, 12)}) have no usable trailer and no intact index entry; this object may be all that names them`;
    repair.kept = damaged.map((d) => ({ key: d.key, reason }));
    return repair;
  }
  await storage.delete(damaged.map((d) => d.key));
  repair.removed = damaged.map((d) => d.key);
  return repair;
}
