/**
 * The collector's lock: one gc at a time per store (two would each condemn the other's new packs). It never
 * blocks uploads. Create-only; a lock past its expiry, or whose holder ran on this host and is gone (killed), is
 * taken over by compare-and-swap.
 */
import os from 'node:os';
import { DatamoverError } from '../errors.js';
import { decodeJson, putJson } from '../meta/objects.js';
import { readIfExists, type Storage } from '../storage/storage.js';
import { CLOCK_SKEW_MS, type LeaseRecord, gcKeys, leaseRecord } from './records.js';
import { Renewal, newLeaseRecord } from './renewal.js';

/** Whether the holder ran on this host and its process is gone (a killed gc): its lock need not wait to expire. */
function diedHere(holder: LeaseRecord): boolean {
  if (holder.host !== os.hostname() || holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class GcLock {
  private constructor(private readonly renewal: Renewal) {}

  /** Takes the lock. CONFLICT naming the holder when another live gc holds it. */
  static async take(storage: Storage): Promise<GcLock> {
    const record = newLeaseRecord('gc');
    const put = await putJson(storage, gcKeys.lock, record, { ifAbsent: true });
    if (put.status === 'written') return new GcLock(new Renewal(storage, gcKeys.lock, record, put.etag));
    const info = await storage.stat(gcKeys.lock);
    const data = await readIfExists(storage, gcKeys.lock);
    if (info && data) {
      const holder = decodeJson(gcKeys.lock, data, leaseRecord);
      if (Date.now() <= holder.expires + CLOCK_SKEW_MS && !diedHere(holder)) {
        throw new DatamoverError('CONFLICT', `another gc holds ${gcKeys.lock} (host ${holder.host}, pid ${holder.pid}, since ${holder.created}); it expires ${new Date(holder.expires + CLOCK_SKEW_MS).toISOString()} if that gc died`);
      }
      const taken = await putJson(storage, gcKeys.lock, record, { ifMatch: info.etag });
      if (taken.status === 'written') return new GcLock(new Renewal(storage, gcKeys.lock, record, taken.etag));
    }
    return GcLock.take(storage); // released or taken over meanwhile: try again
  }

  /** Stops renewing and deletes the lock, unless another gc took it over meanwhile. */
  release(): Promise<void> {
    return this.renewal.release();
  }
}
