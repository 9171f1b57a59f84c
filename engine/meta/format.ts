import { DatamoverError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { FORMAT_VERSION, type FormatRecord, keys } from '../vocab.js';
import { putJson, readJson } from './objects.js';

export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

/**
 * Reads `format.json`, creating it (create-only, so two first writers agree) when `create` is set.
 * Fails with FORMAT when the store is missing it (and `create` is not set) or has an unknown version.
 */
export async function openFormat(storage: Storage, create: boolean): Promise<FormatRecord> {
  let format = await readJson<FormatRecord>(storage, keys.format);
  if (!format && create) {
    const fresh: FormatRecord = {
      format: 'datamover', version: FORMAT_VERSION, hash: 'sha256',
      chunker: { kind: 'fixed', size: DEFAULT_CHUNK_SIZE }, created: new Date().toISOString(),
    };
    await putJson(storage, keys.format, fresh, { ifAbsent: true });
    format = await readJson<FormatRecord>(storage, keys.format);
  }
  if (!format) throw new DatamoverError('FORMAT', `${storage.url} is not a datamover store (no format.json)`);
  if (format.format !== 'datamover' || format.version !== FORMAT_VERSION) {
    throw new DatamoverError('FORMAT',
      `${storage.url}/format.json: unsupported format ${JSON.stringify(format.format)} version ${format.version} (this build reads version ${FORMAT_VERSION})`);
  }
  return format;
}
