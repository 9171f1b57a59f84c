/** JSON and gzipped NDJSON objects on a Storage. */
import { gunzipSync, gzipSync } from 'node:zlib';
import { readIfExists, type PutOptions, type PutResult, type Storage } from '../storage/storage.js';

export async function putJson(storage: Storage, key: string, value: unknown, opts?: PutOptions): Promise<PutResult> {
  return storage.put(key, Buffer.from(`${JSON.stringify(value)}\n`), opts);
}

/** The parsed object, or undefined when absent. */
export async function readJson<T>(storage: Storage, key: string): Promise<T | undefined> {
  const data = await readIfExists(storage, key);
  return data === undefined ? undefined : (JSON.parse(data.toString('utf8')) as T);
}

export function gzipLines(values: readonly unknown[]): Buffer {
  return gzipSync(values.map((v) => JSON.stringify(v)).join('\n') + '\n', { level: 1 });
}

export function gunzipLines<T>(data: Buffer): T[] {
  return gunzipSync(data).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}
