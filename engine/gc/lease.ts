/**
 * A writer's lease (docs/gc.md, "The writer's side"): written before the writer reads the index, renewed while it
 * works, checked after its manifest pages are written and before its descriptor, deleted at the end. While it
 * lives, no collector deletes a pack condemned after it was written.
 */
import { DatamoverError } from '../errors.js';
import { putJson } from '../meta/objects.js';
import type { Storage } from '../storage/storage.js';
import { gcKeys } from './records.js';
import { Renewal, newLeaseRecord } from './renewal.js';

const collected = (what: string) => new DatamoverError('COLLECTED',
  `${what}: its gc lease was revoked (it stalled longer than the lease lifetime while a gc ran); nothing was committed; run it again`);

export class WriterLease {
  private constructor(private readonly storage: Storage, private readonly renewal: Renewal) {}

  /** Writes a new lease (create-only). The caller loads the index and the condemnations only after this returns. */
  static async acquire(storage: Storage, purpose: string, bundle?: { repo: string; id: string }): Promise<WriterLease> {
    const record = newLeaseRecord(purpose, bundle);
    const key = gcKeys.lease(record.id);
    const put = await putJson(storage, key, record, { ifAbsent: true });
    if (put.status !== 'written') throw new DatamoverError('CONFLICT', `gc lease ${record.id} exists already`);
    return new WriterLease(storage, new Renewal(storage, key, record, put.etag));
  }

  /**
   * Fails with COLLECTED unless the lease still exists and was never lost. Call after the manifest pages are
   * written and before the descriptor: a collector that revokes the lease after this check marks those pages.
   */
  async assertHeld(what: string): Promise<void> {
    await this.renewal.settled();
    if (!this.renewal.lost && await this.storage.stat(this.renewal.key)) return;
    this.renewal.lost = true;
    throw collected(what);
  }

  /** Stops renewing and deletes the lease. Idempotent; never throws (an expired lease is revoked by the next gc). */
  release(): Promise<void> {
    return this.renewal.release();
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
