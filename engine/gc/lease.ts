/**
 * A writer's lease (docs/gc.md, "The writer's side"): written before the writer reads the index, renewed while it
 * works, checked after its manifest pages are written and before its descriptor, deleted at the end. While it
 * lives, no collector deletes a pack condemned after it was written.
 */
import os from 'node:os';
import { DatamoverError } from '../errors.js';
import { newId } from '../meta/ids.js';
import { putJson } from '../meta/objects.js';
import type { Storage } from '../storage/storage.js';
import { LEASE_RENEW_MS, LEASE_TTL_MS, type LeaseRecord, gcKeys } from './records.js';

const collected = (what: string) => new DatamoverError('COLLECTED',
  `${what}: its gc lease was revoked (it stalled longer than the lease lifetime while a gc ran); nothing was committed; run it again`);

export class WriterLease {
  private etag: string;
  private lost = false;
  private timer: NodeJS.Timeout | undefined;
  private renewing: Promise<void> = Promise.resolve();

  private constructor(private readonly storage: Storage, readonly record: LeaseRecord, etag: string) {
    this.etag = etag;
    this.timer = setInterval(() => { this.renewing = this.renew(); }, LEASE_RENEW_MS);
    this.timer.unref();
  }

  /** Writes a new lease (create-only). The caller loads the index and the condemnations only after this returns. */
  static async acquire(storage: Storage, purpose: string, bundle?: { repo: string; id: string }): Promise<WriterLease> {
    const id = newId();
    const record: LeaseRecord = {
      id, purpose, ...(bundle ? { bundle } : {}), host: os.hostname(), pid: process.pid, created: new Date().toISOString(),
      expires: Date.now() + LEASE_TTL_MS,
    };
    const put = await putJson(storage, gcKeys.lease(id), record, { ifAbsent: true });
    if (put.status !== 'written') throw new DatamoverError('CONFLICT', `gc lease ${id} exists already`);
    return new WriterLease(storage, record, put.etag);
  }

  /** Extends the lease by compare-and-swap; a lease that is gone stays gone (the writer is then `lost`). */
  private async renew(): Promise<void> {
    if (this.lost) return;
    const next = { ...this.record, expires: Date.now() + LEASE_TTL_MS };
    try {
      const put = await putJson(this.storage, gcKeys.lease(this.record.id), next, { ifMatch: this.etag });
      if (put.status === 'written') this.etag = put.etag;
      else this.lost = true;
    } catch {
      // A failed renewal is retried at the next tick; expiry leaves a margin of several renewals.
    }
  }

  /**
   * Fails with COLLECTED unless the lease still exists and was never lost. Call after the manifest pages are
   * written and before the descriptor: a collector that revokes the lease after this check marks those pages.
   */
  async assertHeld(what: string): Promise<void> {
    await this.renewing;
    if (this.lost) throw collected(what);
    const info = await this.storage.stat(gcKeys.lease(this.record.id));
    if (!info) {
      this.lost = true;
      throw collected(what);
    }
  }

  /** Stops renewing and deletes the lease. Idempotent; never throws (an expired lease is revoked by the next gc). */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.renewing;
    await this.storage.delete([gcKeys.lease(this.record.id)]).catch(() => undefined);
  }
}

/** Runs `work` holding a lease; releases it however `work` ends. */
export async function withWriterLease<T>(
  storage: Storage, purpose: string, bundle: { repo: string; id: string } | undefined, work: (lease: WriterLease) => Promise<T>,
): Promise<T> {
  const lease = await WriterLease.acquire(storage, purpose, bundle);
  try {
    return await work(lease);
  } finally {
    await lease.release();
  }
}
