/**
 * Modification times as the manifest records them: `mtime` in whole milliseconds since the epoch (floor, so
 * negative before 1970) and `mtimeNanos`, the nanoseconds within that millisecond (0–999,999; absent means 0,
 * which is what manifests written before the field existed mean). Together they hold the nanoseconds the file
 * system reports exactly, which a JSON number since the epoch cannot.
 */
import { integrityError } from './errors.js';
import type { FileEntry } from './vocab.js';

const NS_PER_MS = 1_000_000n;

/** Splits nanoseconds since the epoch into the manifest's two fields. */
export function splitNs(ns: bigint): { mtime: number; mtimeNanos: number } {
  let ms = ns / NS_PER_MS;
  let rest = ns % NS_PER_MS;
  if (rest < 0n) {
    rest += NS_PER_MS;
    ms -= 1n;
  }
  return { mtime: Number(ms), mtimeNanos: Number(rest) };
}

/** An entry's mtime in nanoseconds. Fails with INTEGRITY on fields out of range (a damaged or crafted manifest). */
export function entryMtimeNs(entry: Pick<FileEntry, 'path' | 'mtime' | 'mtimeNanos'>): bigint {
  const nanos = entry.mtimeNanos ?? 0;
  if (!Number.isSafeInteger(entry.mtime) || !Number.isInteger(nanos) || nanos < 0 || nanos >= 1_000_000) {
    throw integrityError(`manifest entry ${JSON.stringify(entry.path)}: mtime ${JSON.stringify(entry.mtime)}/${JSON.stringify(entry.mtimeNanos)} is not a valid time`);
  }
  return BigInt(entry.mtime) * NS_PER_MS + BigInt(nanos);
}

/** Whether two entries record the same mtime (to the nanosecond). */
export function sameMtime(a: Pick<FileEntry, 'mtime' | 'mtimeNanos'>, b: Pick<FileEntry, 'mtime' | 'mtimeNanos'>): boolean {
  return a.mtime === b.mtime && (a.mtimeNanos ?? 0) === (b.mtimeNanos ?? 0);
}
