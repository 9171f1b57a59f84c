import { DatamoverError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type ChunkerSpec, type CompressionLevel, FORMAT_VERSION, type FormatRecord, READABLE_VERSIONS, keys } from '../vocab.js';
import { checked, damaged, putJson, readJson } from './objects.js';
import { formatRecord } from './validate.js';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

const MiB = 1024 * 1024;
/** The chunkers a store can be created with. fastcdc: 1 MiB average chunks in 16 MiB segments. */
export const CHUNKERS: Record<ChunkerSpec['kind'], ChunkerSpec> = {
  fixed: { kind: 'fixed', size: DEFAULT_CHUNK_SIZE },
  fastcdc: { kind: 'fastcdc', min: MiB / 4, avg: MiB, max: 4 * MiB, segment: 16 * MiB },
};

/**
 * Reads `format.json`, creating it (create-only, so two first writers agree) when `create` is set, with
 * `chunker` (default fixed 4 MiB) at FORMAT_VERSION. A store of an older readable version stays at it (it is
 * never upgraded in place: builds that read only it may share the store). Fails with FORMAT when the store is missing it (and `create` is not set) or
 * has an unknown version, with INTEGRITY naming it when it is damaged (a field missing or out of range: see
 * validate.ts `formatRecord`), and with CONFLICT when `chunker` is asked of a store created with another.
 */
export async function openFormat(storage: Storage, create: boolean, chunker?: ChunkerSpec): Promise<FormatRecord> {
  let format = await readJson<FormatRecord>(storage, keys.format);
  if (format === undefined && create) {
    const fresh: FormatRecord = {
      format: 'datamover', version: FORMAT_VERSION, hash: 'sha256',
      chunker: chunker ?? CHUNKERS.fixed, created: new Date().toISOString(),
    };
    await putJson(storage, keys.format, fresh, { ifAbsent: true });
    format = await readJson<FormatRecord>(storage, keys.format);
  }
  if (format === undefined) throw new DatamoverError('FORMAT', `${storage.url} is not a datamover store (no format.json)`);
  if (typeof format !== 'object' || format === null) throw damaged(keys.format, 'not an object');
  if (format.format !== 'datamover' || !READABLE_VERSIONS.includes(format.version)) {
    throw new DatamoverError('FORMAT',
      `${storage.url}/format.json: unsupported format ${JSON.stringify(format.format)} version ${format.version} (this build reads versions ${READABLE_VERSIONS.join(' and ')})`);
  }
  format = checked(keys.format, format, formatRecord);
  if (chunker && format.chunker.kind !== chunker.kind) {
    throw new DatamoverError('CONFLICT', `${storage.url} chunks with ${format.chunker.kind}, chosen when it was created; a store keeps its chunker`);
  }
  return format;
}

/** Whether a store of `format` may hold compressed blobs (version 2 on); older builds cannot read them. */
export function compressionAllowed(format: FormatRecord): boolean {
  return format.version >= 2;
}

/**
 * The zstd level behind each `--compression` name (workers/codec.ts compresses): 1 is zstd's fastest, 3 its
 * default. `max` is 9: beyond it zstd slows several-fold for a few percent (measured on 4 MiB of the bench's
 * log text, CPU time: level 9 stores 8.5% less than 3 for 3× the CPU, 12 10.6% less for 8×, 19 19% less for
 * ~80×), and an upload must stay an upload (docs/compression.md).
 */
export const ZSTD_LEVELS: Record<CompressionLevel, number> = { off: 0, fast: 1, default: 3, max: 9 };

/** The compression a new repo gets unless one is asked for: on where the store's format allows it. */
export function defaultCompression(format: FormatRecord): CompressionLevel {
  return compressionAllowed(format) ? 'default' : 'off';
}
