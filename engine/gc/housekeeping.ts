/**
 * Collector steps 2 and 5 (docs/gc.md): revoking expired leases; removing what killed writers left behind once
 * it is older than the grace period and no live lease names it — sessions, staged writes and multipart uploads,
 * manifest pages of bundles that were never committed (or of a commit attempt that lost).
 */
import { decodeTime } from 'ulid';
import { getBundle } from '../meta/bundles.js';
import { isBundleId } from '../meta/ids.js';
import type { Storage } from '../storage/storage.js';
import { keys } from '../vocab.js';
import { isPageKey } from './mark.js';
import { CLOCK_SKEW_MS, gcKeys, leaseRecord, listRecords } from './records.js';

/** Deletes the leases past their expiry (plus the clock-skew margin). Returns how many. */
export async function revokeExpiredLeases(storage: Storage): Promise<number> {
  const now = Date.now();
  const expired = (await listRecords(storage, gcKeys.leasesPrefix, leaseRecord))
    .filter((l) => now > l.record.expires + CLOCK_SKEW_MS).map((l) => l.key);
  if (expired.length) await storage.delete(expired);
  return expired.length;
}

export interface Leftovers { sessionsRemoved: number; pagesRemoved: number; uploadsAborted: number }

export async function removeLeftovers(storage: Storage, graceMs: number, repos: readonly string[]): Promise<Leftovers> {
  const cutoff = Date.now() - graceMs;
  const leased = new Set((await listRecords(storage, gcKeys.leasesPrefix, leaseRecord)).flatMap((l) => (l.record.bundle ? [l.record.bundle.id] : [])));
  const old = (id: string) => isBundleId(id) && decodeTime(id) < cutoff && !leased.has(id);
  const aborted = await storage.abortStaleUploads?.('blobs/', graceMs) ?? [];
  let sessionsRemoved = 0;
  const sessionKeys = new Map<string, string[]>();
  for await (const e of storage.list('meta/sessions/')) groupInto(sessionKeys, e.key.split('/')[2]!, e.key);
  for (const [id, found] of sessionKeys) {
    if (!old(id)) continue;
    // The session record last: a session without one is not offered to `bundle commit`.
    await storage.delete(found.filter((k) => k !== keys.session(id)));
    await storage.delete([keys.session(id)]);
    sessionsRemoved++;
  }
  let pagesRemoved = 0;
  for (const repo of repos) pagesRemoved += await removeOrphanPages(storage, repo, old);
  return { sessionsRemoved, pagesRemoved, uploadsAborted: aborted.length };
}

/** Pages under a bundle folder that its descriptor does not name (no descriptor: a commit that never landed). */
async function removeOrphanPages(storage: Storage, repo: string, old: (id: string) => boolean): Promise<number> {
  const byBundle = new Map<string, string[]>();
  const prefix = keys.bundlesPrefix(repo);
  for await (const e of storage.list(prefix)) groupInto(byBundle, e.key.slice(prefix.length).split('/')[0]!, e.key);
  let removed = 0;
  for (const [id, found] of byBundle) {
    if (!old(id)) continue;
    const pages = found.filter(isPageKey);
    let named = new Set<string>();
    if (found.includes(keys.bundle(repo, id))) {
      const bundle = await getBundle(storage, repo, id).catch(() => undefined);
      if (!bundle) continue; // a damaged descriptor: fsck's business, and its pages stay
      named = new Set(bundle.pages.map((p) => p.key));
    }
    const orphans = pages.filter((k) => !named.has(k));
    if (orphans.length) await storage.delete(orphans);
    removed += orphans.length;
  }
  return removed;
}

function groupInto(groups: Map<string, string[]>, id: string, key: string): void {
  const group = groups.get(id);
  if (group) group.push(key);
  else groups.set(id, [key]);
}
