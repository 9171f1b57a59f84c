/**
 * `copy`: a plain object-for-object tree copy between any two stores (local, s3, gs), for migrations.
 * Every object is hashed (SHA-256) as it is read; the hash travels with the write (the server checks the body
 * where it can) and is kept as the object's metadata, so a rerun recognises identical objects without
 * re-sending them. An object larger than a part streams as a multipart upload with one part in memory.
 */
import { createHash } from 'node:crypto';
import { interruptible } from '../cancel.js';
import { integrityError } from '../errors.js';
import { type CopyAction, type Reporter, silentReporter } from '../events.js';
import { forEachLimited } from '../runtime/concurrency.js';
import { abortable } from '../storage/abortable.js';
import { type ListEntry, type Storage, readAll } from '../storage/storage.js';

export interface CopyRequest {
  source: Storage;
  dest: Storage;
  /** Objects in flight (default 8); each holds at most one part in memory. */
  concurrency?: number;
  /** Objects larger than this stream as multipart uploads of parts this size (default 16 MiB). */
  partSize?: number;
  /** Plan and report, write nothing. */
  dryRun?: boolean;
  /** Delete destination objects the source does not have; never when the source listed nothing. */
  delete?: boolean;
  reporter?: Reporter;
  /** Stops the copy: no more objects start, multipart uploads in flight are aborted; fails with INTERRUPTED. */
  signal?: AbortSignal;
}

export interface CopyResult {
  copied: number;
  copiedBytes: number;
  skipped: number;
  deleted: number;
  /** Set when --delete was asked for but refused (the source listed no objects). */
  deleteRefused?: string;
}

const MiB = 1024 * 1024;

/**
 * Copies every object of `source` to `dest` under the same key, skipping objects already identical (same size
 * and SHA-256). Errors: INTEGRITY (a source object does not match its recorded hash, or changed while copied),
 * STORAGE. A failed copy leaves no partial object: writes are atomic or multipart (aborted on failure).
 */
export function copyTree(req: CopyRequest): Promise<CopyResult> {
  const source = abortable(req.source, req.signal);
  return interruptible(req.signal, () => copyOnce({ ...req, source, dest: abortable(req.dest, req.signal) }));
}

async function copyOnce(req: CopyRequest): Promise<CopyResult> {
  const report = req.reporter ?? silentReporter;
  const result: CopyResult = { copied: 0, copiedBytes: 0, skipped: 0, deleted: 0 };
  const [sourceObjects, destObjects] = await Promise.all([listObjects(req.source), listObjects(req.dest)]);
  const destSizes = new Map(destObjects.map((o) => [o.key, o.size ?? 0]));
  let lastProgress = 0;
  const act = (key: string, action: CopyAction, bytes: number) => {
    report({ type: 'copy.object', key, action, bytes });
    if (action === 'copy') { result.copied++; result.copiedBytes += bytes; }
    if (action === 'skip') result.skipped++;
    if (Date.now() - lastProgress > 1000) {
      lastProgress = Date.now();
      report({ type: 'copy.progress', objects: result.copied, bytes: result.copiedBytes, skipped: result.skipped });
    }
  };
  const copier = new ObjectCopier(req.source, req.dest, req.partSize ?? 16 * MiB);
  await forEachLimited(sourceObjects, req.concurrency ?? 8, async ({ key, size = 0 }) => {
    const sameSize = destSizes.get(key) === size;
    // One stat of the source: its recorded hash serves both the comparison and the copy's check.
    const recorded = sameSize || !req.dryRun ? (await req.source.stat(key))?.sha256 : undefined;
    let sourceSha256 = recorded;
    if (sameSize) {
      sourceSha256 ??= await computeSha256(req.source, key);
      if (sourceSha256 === await sha256Of(req.dest, key)) return act(key, 'skip', size);
    }
    if (!req.dryRun) await copier.copy(key, size, recorded, sourceSha256);
    act(key, 'copy', size);
  });
  if (req.delete) {
    if (!sourceObjects.length) {
      result.deleteRefused = `${req.source.url} lists no objects; nothing deleted from ${req.dest.url}`;
    } else {
      const present = new Set(sourceObjects.map((o) => o.key));
      const extra = destObjects.filter((o) => !present.has(o.key)).map((o) => o.key);
      if (!req.dryRun) await req.dest.delete(extra);
      for (const key of extra) report({ type: 'copy.object', key, action: 'delete', bytes: destSizes.get(key) ?? 0 });
      result.deleted = extra.length;
    }
  }
  return result;
}

/** Every object under the store's root (a failed listing throws: nothing is copied or deleted then). */
async function listObjects(storage: Storage): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const entry of storage.list('')) if (!entry.isPrefix) out.push(entry);
  return out;
}

class ObjectCopier {
  constructor(private readonly source: Storage, private readonly dest: Storage, private readonly partSize: number) {}

  /**
   * Copies `key`. `recorded`: the SHA-256 the source keeps with it; `known`: the same, or one computed by an
   * earlier read of the source, which a large copy then need not read for again.
   */
  async copy(key: string, size: number, recorded: string | undefined, known: string | undefined): Promise<void> {
    if (size <= this.partSize) return this.copySmall(key, recorded);
    // The whole object's hash goes with the multipart upload's start, so it is known before the first part.
    return this.copyLarge(key, known ?? await computeSha256(this.source, key));
  }

  private async copySmall(key: string, recorded: string | undefined): Promise<void> {
    const data = await readAll(this.source, key);
    const sha256 = hex(data);
    if (recorded && recorded !== sha256) throw integrityError(`${where(this.source, key)}: content does not match its recorded SHA-256`);
    await this.dest.put(key, data, { sha256 });
    await this.verifyWritten(key, sha256);
  }

  private async copyLarge(key: string, expected: string): Promise<void> {
    const upload = await this.dest.openMultipart(key, { sha256: expected });
    try {
      const hash = createHash('sha256');
      let part = Buffer.allocUnsafe(this.partSize);
      let filled = 0;
      let n = 0;
      for await (const chunk of await this.source.get(key)) {
        let buf = chunk as Buffer;
        hash.update(buf);
        while (buf.length) {
          const take = Math.min(buf.length, this.partSize - filled);
          buf.copy(part, filled, 0, take);
          filled += take;
          buf = buf.subarray(take);
          if (filled === this.partSize) {
            await upload.writePart(++n, part);
            [part, filled] = [Buffer.allocUnsafe(this.partSize), 0];
          }
        }
      }
      if (filled) await upload.writePart(++n, part.subarray(0, filled));
      if (hash.digest('hex') !== expected) {
        throw integrityError(`${where(this.source, key)}: changed while being copied (or does not match its recorded SHA-256)`);
      }
      await upload.complete();
    } catch (err) {
      await upload.abort().catch(() => undefined);
      throw err;
    }
    await this.verifyWritten(key, expected);
  }

  /** A store that keeps the hash vouches for it (its server checked the body); the others are read back. */
  private async verifyWritten(key: string, sha256: string): Promise<void> {
    const info = await this.dest.stat(key);
    const stored = info && (info.sha256 ?? await computeSha256(this.dest, key));
    if (stored !== sha256) {
      await this.dest.delete([key]).catch(() => undefined);
      throw integrityError(`${where(this.dest, key)}: written content does not match the source's SHA-256`);
    }
  }
}

/** The object's SHA-256: recorded with it, or computed by streaming it. */
async function sha256Of(storage: Storage, key: string): Promise<string> {
  return (await storage.stat(key))?.sha256 ?? computeSha256(storage, key);
}

async function computeSha256(storage: Storage, key: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of await storage.get(key)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const where = (storage: Storage, key: string) => (storage.url.endsWith('/') ? storage.url : `${storage.url}/`) + key;

const hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
