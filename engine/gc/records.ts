/**
 * The collector's coordination objects (docs/gc.md): writer leases, condemnations and their blockers, sweep
 * records and the collector's lock, all under `blobs/gc/` beside the packs they are about.
 */
import { decodeJson } from '../meta/objects.js';
import { readAll, isStorageError, type Storage } from '../storage/storage.js';

export const gcKeys = {
  leasesPrefix: 'blobs/gc/leases/',
  lease: (id: string) => `blobs/gc/leases/${id}.json`,
  condemnedPrefix: 'blobs/gc/condemned/',
  condemned: (id: string) => `blobs/gc/condemned/${id}.json`,
  blockers: (id: string) => `blobs/gc/condemned/${id}.blockers.json`,
  sweepsPrefix: 'blobs/gc/sweeps/',
  sweep: (id: string) => `blobs/gc/sweeps/${id}.json`,
  lock: 'blobs/gc/lock.json',
};

/** How long a lease or the collector's lock lives after its last renewal, and how often it is renewed. */
export const LEASE_TTL_MS = Number(process.env.DATAMOVER_LEASE_TTL_MS) || 15 * 60_000;
export const LEASE_RENEW_MS = Math.min(60_000, Math.max(50, Math.floor(LEASE_TTL_MS / 4)));
/** The clock difference between machines that expiry tolerates. */
export const CLOCK_SKEW_MS = Number(process.env.DATAMOVER_CLOCK_SKEW_MS ?? 5 * 60_000);

export interface LeaseRecord {
  id: string;
  /** What holds it: 'upload', 'shard', 'session.commit', 'rewrite', 'gc'. */
  purpose: string;
  /** The bundle whose pages the writer writes (so orphan pages of a live writer are never removed). */
  bundle?: { repo: string; id: string };
  host: string;
  pid: number;
  created: string;
  /** Epoch ms after which (plus CLOCK_SKEW_MS) a collector may revoke it. */
  expires: number;
}

export interface CondemnedRecord { id: string; created: string; packs: string[]; reason: Record<string, 'unused' | 'repacked' | 'unindexed'> }
export interface BlockersRecord { id: string; leases: string[] }
export interface SweepRecord { id: string; condemned: string[]; packs: string[] }

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw new Error(`${what} is not a list of strings`);
  return v as string[];
};

export function leaseRecord(v: unknown): LeaseRecord {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.expires !== 'number' || typeof v.purpose !== 'string') throw new Error('not a lease');
  return v as unknown as LeaseRecord;
}

export function condemnedRecord(v: unknown): CondemnedRecord {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.created !== 'string') throw new Error('not a condemnation');
  strings(v.packs, 'packs');
  return v as unknown as CondemnedRecord;
}

export function blockersRecord(v: unknown): BlockersRecord {
  if (!isObject(v) || typeof v.id !== 'string') throw new Error('not a blockers record');
  strings(v.leases, 'leases');
  return v as unknown as BlockersRecord;
}

export function sweepRecord(v: unknown): SweepRecord {
  if (!isObject(v) || typeof v.id !== 'string') throw new Error('not a sweep record');
  strings(v.packs, 'packs');
  strings(v.condemned, 'condemned');
  return v as unknown as SweepRecord;
}

/** The id in a key of `blobs/gc/...` (`<prefix><id>.json` or `<id>.blockers.json`). */
export const idOfKey = (key: string): string => key.slice(key.lastIndexOf('/') + 1).replace(/(\.blockers)?\.json$/, '');

/** Every record under `prefix` that validates, with its etag; damaged ones are returned apart. */
export async function listRecords<T>(storage: Storage, prefix: string, validate: (v: unknown) => T, filter?: (key: string) => boolean): Promise<{ key: string; record: T }[]> {
  const out: { key: string; record: T }[] = [];
  const found: string[] = [];
  for await (const e of storage.list(prefix)) if (!filter || filter(e.key)) found.push(e.key);
  for (const key of found) {
    let data: Buffer;
    try {
      data = await readAll(storage, key);
    } catch (err) {
      if (isStorageError(err, 'notFound')) continue; // gone meanwhile (released, swept)
      throw err;
    }
    out.push({ key, record: decodeJson(key, data, validate) });
  }
  return out;
}

/**
 * The packs named by every condemnation in the store. A writer loads them after writing its lease and treats
 * them as gone: it never deduplicates against them nor adopts them (docs/gc.md, writer step 1).
 */
export async function condemnedPacks(storage: Storage): Promise<Set<string>> {
  const packs = new Set<string>();
  const records = await listRecords(storage, gcKeys.condemnedPrefix, condemnedRecord, (k) => !k.endsWith('.blockers.json'));
  for (const { record } of records) for (const p of record.packs) packs.add(p);
  return packs;
}
