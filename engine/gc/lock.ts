/**
 * The collector's lock: one gc at a time per store (two would each condemn the other's new packs). It never
 * blocks uploads. Create-only; a lock past its expiry (its holder died) is taken over by compare-and-swap.
 */
import os from 'node:os';
import { DatamoverError } from '../errors.js';
import { newId } from '../meta/ids.js';
import { decodeJson, putJson } from '../meta/objects.js';
import { readIfExists, type Storage } from '../storage/storage.js';
import { CLOCK_SKEW_MS, LEASE_RENEW_MS, LEASE_TTL_MS, type LeaseRecord, gcKeys, leaseRecord } from './records.js';

export class GcLock {
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly storage: Storage, private record: LeaseRecord, private etag: string) {
    this.timer = setInterval(() => void this.renew(), LEASE_RENEW_MS);
    this.timer.unref();
  }

  /** Takes the lock. CONFLICT naming the holder when another live gc holds it. */
  static async take(storage: Storage): Promise<GcLock> {
    const record: LeaseRecord = {
      id: newId(), purpose: 'gc', host: os.hostname(), pid: process.pid, created: new Date().toISOString(), expires: Date.now() + LEASE_TTL_MS,
    };
    const put = await putJson(storage, gcKeys.lock, record, { ifAbsent: true });
    if (put.status === 'written') return new GcLock(storage, record, put.etag);
    const info = await storage.stat(gcKeys.lock);
    const data = await readIfExists(storage, gcKeys.lock);
    if (info && data) {
      const holder = decodeJson(gcKeys.lock, data, leaseRecord);
      if (Date.now() <= holder.expires + CLOCK_SKEW_MS) {
        throw new DatamoverError('CONFLICT', `another gc holds ${gcKeys.lock} (host ${holder.host}, pid ${holder.pid}, since ${holder.created}); it expires ${new Date(holder.expires + CLOCK_SKEW_MS).toISOString()} if that gc died`);
      }
      const taken = await putJson(storage, gcKeys.lock, record, { ifMatch: info.etag });
      if (taken.status === 'written') return new GcLock(storage, record, taken.etag);
    }
    return GcLock.take(storage); // released or taken over meanwhile: try again
  }

  private async renew(): Promise<void> {
    this.record = { ...this.record, expires: Date.now() + LEASE_TTL_MS };
    const put = await putJson(this.storage, gcKeys.lock, this.record, { ifMatch: this.etag }).catch(() => undefined);
    if (put?.status === 'written') this.etag = put.etag;
  }

  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.storage.delete([gcKeys.lock]).catch(() => undefined);
  }
}
