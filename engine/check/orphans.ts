/**
 * Orphan packs: packs that no index entry names. A killed upload leaves them legitimately (the next upload, or
 * `fsck --repair-index`, indexes them from their trailers), and so does an upload running while fsck lists
 * (packs are listed last), so they are information, not problems.
 */
import type { CompactBlobIndex } from '../meta/compact-index.js';

export interface Orphans { packs: number; bytes: number }

/** Counts the packs of `packSizes` (id → size) with no entry in `index`, and notes each one. */
export function findOrphans(
  index: CompactBlobIndex, packSizes: Map<string, number>, note: (what: string, detail: string) => void,
): Orphans {
  const orphans: Orphans = { packs: 0, bytes: 0 };
  for (const [pack, size] of packSizes) {
    if (index.hasPack(pack)) continue;
    orphans.packs++;
    orphans.bytes += size;
    note(`pack ${pack.slice(0, 12)}`, `in no index (${size} bytes): left by a killed upload; the next upload or an index repair indexes it`);
  }
  return orphans;
}
