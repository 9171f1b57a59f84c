/**
 * A record that says "I am alive" by its expiry (a writer's lease, the collector's lock): written once, then
 * renewed by compare-and-swap until released. A renewal that finds the record changed or gone marks it `lost`
 * (a collector revoked it, or another took over): it is never written again.
 */
import os from 'node:os';
import { newId } from '../meta/ids.js';
import { putJson } from '../meta/objects.js';
import type { Storage } from '../storage/storage.js';
import { LEASE_RENEW_MS, LEASE_TTL_MS, type LeaseRecord } from './records.js';

/** A fresh record of this process, expiring LEASE_TTL_MS from now. */
export function newLeaseRecord(purpose: string, bundle?: { repo: string; id: string }): LeaseRecord {
  return {
    id: newId(), purpose, ...(bundle ? { bundle } : {}), host: os.hostname(), pid: process.pid, created: new Date().toISOString(),
    expires: Date.now() + LEASE_TTL_MS,
  };
}

export class Renewal {
  lost = false;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();

  /** Starts renewing `record`, just written at `key` with `etag`. */
  constructor(private readonly storage: Storage, readonly key: string, readonly record: LeaseRecord, private etag: string) {
    this.timer = setInterval(() => { this.renewing = this.renew(); }, LEASE_RENEW_MS);
    this.timer.unref();
  }

  private async renew(): Promise<void> {
    if (this.lost) return;
    try {
      const put = await putJson(this.storage, this.key, { ...this.record, expires: Date.now() + LEASE_TTL_MS }, { ifMatch: this.etag });
      if (put.status === 'written') this.etag = put.etag;
      else this.lost = true;
    } catch {
      // A failed renewal is retried at the next tick; expiry leaves a margin of several renewals.
    }
  }

  /** Waits for a renewal in flight, so `lost` is up to date. */
  settled(): Promise<void> {
    return this.renewing;
  }

  /** Stops renewing and deletes the record (unless lost: then it is someone else's). Never throws. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
    if (!this.lost) await this.storage.delete([this.key]).catch(() => undefined);
  }
}
