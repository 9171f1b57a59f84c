/**
 * The packer: appends new blobs to the open pack, which streams out as a multipart upload while it fills
 * (one part per `partSize` bytes), and completes it at `packSize`. Blob bytes are not copied: a part is the
 * list of slices of pooled buffers, which are released once the part is written.
 * Pack ids are random, not content hashes: the key must exist before the first part streams out. Integrity
 * is per blob (its name is its SHA-256) and per part. The last part ends with the pack's trailer (the list of
 * its blobs, meta/pack-trailer.ts), so a pack that landed can be indexed from itself alone.
 */
import { randomBytes } from 'node:crypto';
import { type MultipartUpload, type Storage, StorageError } from '../storage/storage.js';
import { encodeTrailer } from '../meta/pack-trailer.js';
import { type IndexEntry, keys } from '../vocab.js';

/** Keeps a pooled buffer alive while a slice of it waits to be written. */
export interface Lease { retain(): void; release(): void }

export interface PackerOptions {
  packSize: number;
  partSize: number;
  partsInFlight: number;
  maxHeldSlices: number;
  /** Every part but the last must be at least this long (S3: 5 MiB). */
  minPartSize: number;
}

const noLease: Lease = { retain() {}, release() {} };

/** `bytes`: the blob bytes (the pack object is longer by its trailer). */
export interface DurablePack { id: string; key: string; bytes: number; entries: IndexEntry[] }

interface OpenPack {
  id: string;
  /** Opened with the first part: a pack that closes before its first part is written is one plain put. */
  upload?: Promise<MultipartUpload>;
  entries: IndexEntry[];
  size: number;
  parts: Promise<void>[];
  pending: { data: Uint8Array; lease: Lease }[];
  pendingBytes: number;
}

export class Packer {
  private open: OpenPack | undefined;
  private readonly closing: Promise<void>[] = [];
  private partsInFlight = 0;
  private readonly partWaiters: (() => void)[] = [];
  private failure: unknown;

  constructor(
    private readonly storage: Storage, private readonly opts: PackerOptions,
    private readonly onDurable: (pack: DurablePack) => Promise<void>,
  ) {}

  /**
   * Appends a blob (`data`: its stored bytes, encoded with `codec` if given); waits while too many parts are in
   * flight. Throws the first failed write.
   */
  async add(blob: string, data: Uint8Array, lease: Lease, codec?: IndexEntry['codec']): Promise<void> {
    if (this.failure) throw this.failure;
    const pack = this.open ?? (this.open = this.openPack());
    pack.entries.push({ blob, pack: pack.id, offset: pack.size, length: data.byteLength, ...(codec ? { codec } : {}) });
    pack.size += data.byteLength;
    lease.retain();
    pack.pending.push({ data, lease });
    pack.pendingBytes += data.byteLength;
    if (pack.pendingBytes >= this.opts.partSize) await this.writePart(pack);
    else if (pack.pending.length >= this.opts.maxHeldSlices) {
      // Many small slices pin many pooled buffers. Write them out, or copy them out when too short to be a part.
      if (pack.pendingBytes >= this.opts.minPartSize) await this.writePart(pack);
      else this.compactPending(pack);
    }
    if (pack.size >= this.opts.packSize) this.closeOpenPack();
  }

  /** Closes the open pack (if any) and waits until every pack so far is durable and reported. */
  async flush(): Promise<void> {
    this.closeOpenPack();
    const results = await Promise.allSettled(this.closing.splice(0));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (this.failure) throw this.failure;
  }

  /** Aborts the open pack after its in-flight parts settle. Packs already closing finish or fail on their own. */
  async abort(): Promise<void> {
    const pack = this.open;
    this.open = undefined;
    if (pack) {
      await Promise.allSettled(pack.parts);
      for (const p of pack.pending) p.lease.release();
      const upload = await pack.upload?.catch(() => undefined);
      await upload?.abort().catch(() => undefined);
    }
    await Promise.allSettled(this.closing.splice(0));
  }

  private openPack(): OpenPack {
    const id = randomBytes(32).toString('hex');
    return { id, entries: [], size: 0, parts: [], pending: [], pendingBytes: 0 };
  }

  private startUpload(pack: OpenPack): Promise<MultipartUpload> {
    if (!pack.upload) {
      pack.upload = this.storage.openMultipart(keys.pack(pack.id));
      pack.upload.catch(() => undefined);
    }
    return pack.upload;
  }

  private compactPending(pack: OpenPack): void {
    const copy = Buffer.concat(pack.pending.map((p) => p.data));
    for (const p of pack.pending) p.lease.release();
    pack.pending = [{ data: copy, lease: noLease }];
  }

  private async writePart(pack: OpenPack): Promise<void> {
    const slices = pack.pending;
    pack.pending = [];
    pack.pendingBytes = 0;
    while (this.partsInFlight >= this.opts.partsInFlight) await new Promise<void>((r) => this.partWaiters.push(r));
    this.partsInFlight++;
    const n = pack.parts.length + 1;
    const uploadStarted = this.startUpload(pack);
    const written = (async () => {
      try {
        const upload = await uploadStarted;
        await upload.writePart(n, slices.map((s) => s.data));
      } catch (err) {
        this.failure ??= err;
        throw err;
      } finally {
        for (const s of slices) s.lease.release();
        this.partsInFlight--;
        this.partWaiters.shift()?.();
      }
    })();
    written.catch(() => undefined);
    pack.parts.push(written);
  }

  private closeOpenPack(): void {
    const pack = this.open;
    if (!pack) return;
    this.open = undefined;
    const done = (async () => {
      if (!pack.upload) return this.putWholePack(pack);
      this.appendTrailer(pack);
      await this.writePart(pack);
      const upload = await pack.upload;
      const parts = await Promise.allSettled(pack.parts);
      const failed = parts.find((r) => r.status === 'rejected');
      if (failed) {
        await upload.abort().catch(() => undefined);
        throw (failed as PromiseRejectedResult).reason;
      }
      // A completion that fails for good leaves no incomplete upload behind (nor its stored parts).
      const info = await upload.complete().catch(async (err: unknown) => {
        await upload.abort().catch(() => undefined);
        throw err;
      });
      await this.onDurable({ id: pack.id, key: info.key, bytes: pack.size, entries: pack.entries });
    })();
    done.catch((err) => { this.failure ??= err; });
    this.closing.push(done);
  }

  /** Ends the pack's bytes with its trailer: written with (or as) the last part. */
  private appendTrailer(pack: OpenPack): void {
    const trailer = encodeTrailer(pack.entries);
    pack.pending.push({ data: trailer, lease: noLease });
    pack.pendingBytes += trailer.byteLength;
  }

  /** A pack that fits in one part goes out as one put: one request instead of three. */
  private async putWholePack(pack: OpenPack): Promise<void> {
    this.appendTrailer(pack);
    const slices = pack.pending;
    pack.pending = [];
    try {
      const key = keys.pack(pack.id);
      const put = await this.storage.put(key, slices.map((s) => s.data));
      // An unconditional put cannot lose a race: only a misbehaving server answers it with a precondition failure.
      if (put.status !== 'written') throw new StorageError('permanent', `${this.storage.url} put ${key}: reported ${put.status}`);
      await this.onDurable({ id: pack.id, key, bytes: pack.size, entries: pack.entries });
    } finally {
      for (const s of slices) s.lease.release();
    }
  }
}
