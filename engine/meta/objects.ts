/**
 * JSON and gzipped NDJSON objects on a Storage. Every metadata read goes through `readJson`/`decodeJson` or
 * `gunzipLines`: read, gunzip, parse and validate in one place, so a damaged object of any kind fails the same
 * way — INTEGRITY naming its key and what is wrong — never a raw zlib or JSON error naming nothing.
 */
import { promisify } from 'node:util';
import { type ZlibOptions, gunzip, gunzipSync, gzipSync } from 'node:zlib';
import { DatamoverError, integrityError } from '../errors.js';
import { readIfExists, type PutOptions, type PutResult, type Storage } from '../storage/storage.js';

/** Checks a parsed value and returns it typed; throws (any Error, its message saying what is wrong) otherwise. */
export type Validator<T> = (value: unknown) => T;

export async function putJson(storage: Storage, key: string, value: unknown, opts?: PutOptions): Promise<PutResult> {
  return storage.put(key, Buffer.from(`${JSON.stringify(value)}\n`), opts);
}

/** The parsed and validated object, or undefined when absent. INTEGRITY naming `key` when damaged. */
export async function readJson<T>(storage: Storage, key: string, validate?: Validator<T>): Promise<T | undefined> {
  const data = await readIfExists(storage, key);
  return data === undefined ? undefined : decodeJson(key, data, validate);
}

/** Parses and validates the bytes of object `key`; INTEGRITY naming `key` when they are not what they should be. */
export function decodeJson<T>(key: string, data: Buffer, validate?: Validator<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw damaged(key, `not valid JSON (${(err as Error).message})`);
  }
  return checked(key, value, validate);
}

export function gzipLines(values: readonly unknown[]): Buffer {
  return gzipText(values.map((v) => JSON.stringify(v)));
}

/** Lines already encoded (one JSON value each), gzipped as gzipLines would write their values. */
export function gzipText(lines: readonly string[]): Buffer {
  return gzipSync(lines.join('\n') + '\n', { level: 1 });
}

/** The lines of gzipped NDJSON object `key`, each parsed and validated. INTEGRITY naming `key` (and the line). */
export function gunzipLines<T>(key: string, data: Buffer, validate?: Validator<T>): T[] {
  return gunzipLinesWithText(key, data, validate).values;
}

/** As gunzipLines, with each value's line as stored (`lines[i]` is the text of `values[i]`). */
export function gunzipLinesWithText<T>(key: string, data: Buffer, validate?: Validator<T>): { lines: string[]; values: T[] } {
  const text = gunzippedSync(key, data).toString('utf8');
  const values: T[] = [];
  const lines: string[] = [];
  const all = text.split('\n');
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    if (!line) continue;
    values.push(parseLine(key, line, i + 1, validate));
    lines.push(line);
  }
  return { lines, values };
}

/** The gunzipped bytes of object `key`. INTEGRITY naming `key` when they are not gzip. */
export function gunzippedSync(key: string, data: Buffer): Buffer {
  try {
    return gunzipSync(data);
  } catch (err) {
    throw notGzip(key, err);
  }
}

// With `info`, zlib hands back the engine too (its `bytesWritten`: input consumed), which the typings do not say.
const gunzipOnPool = promisify(gunzip) as unknown as (data: Buffer, opts: ZlibOptions & { info: true }) => Promise<{ buffer: Buffer; engine: { bytesWritten: number } }>;

/**
 * The gunzipped bytes of object `key`, inflated on libuv's thread pool: a caller reading many objects decodes
 * one on the main thread while the next is inflated. INTEGRITY naming `key` when they are not gzip.
 */
export async function gunzipped(key: string, data: Buffer): Promise<Buffer> {
  return (await gunzippedMembers(key, data)).text;
}

/**
 * As `gunzipped`, with `trailing`: how many bytes follow the last gzip member. zlib ends quietly at bytes that
 * start no member (zeros, say), so an object read whole may still hide what is appended to it.
 */
export async function gunzippedMembers(key: string, data: Buffer): Promise<{ text: Buffer; trailing: number }> {
  try {
    // The trailer's size (mod 2^32) as the output chunk: inflated in one piece, not 16 KiB chunks concatenated.
    // Only a hint (a damaged trailer may say anything), so bounded: a smaller chunk is slower, never wrong.
    const size = data.length >= 18 ? data.readUInt32LE(data.length - 4) : 0;
    const chunkSize = Math.max(16 * 1024, Math.min(size + 1, 32 * data.length, 64 * 2 ** 20));
    const { buffer, engine } = await gunzipOnPool(data, { chunkSize, info: true });
    return { text: buffer, trailing: data.length - engine.bytesWritten };
  } catch (err) {
    throw notGzip(key, err);
  }
}

const notGzip = (key: string, err: unknown) => damaged(key, `not valid gzip (${(err as Error).message})`);

/** Line `line` of object `key` (its text), parsed and validated; INTEGRITY naming `key` and the line otherwise. */
export function parseLine<T>(key: string, text: string, line: number, validate?: Validator<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw damaged(key, `line ${line} is not valid JSON (${(err as Error).message})`);
  }
  return checked(key, value, validate, `line ${line}: `);
}

/** `value`, the parsed content of object `key`, checked by `validate`; INTEGRITY naming `key` (and `where`) otherwise. */
export function checked<T>(key: string, value: unknown, validate: Validator<T> | undefined, where = ''): T {
  if (!validate) return value as T;
  try {
    return validate(value);
  } catch (err) {
    if (err instanceof DatamoverError) throw new DatamoverError(err.code, `${key}: ${where}${err.message}`);
    throw damaged(key, `${where}${(err as Error).message}`);
  }
}

/** The INTEGRITY error for a damaged metadata object: its key first, then what is wrong with it. */
export function damaged(key: string, problem: string): DatamoverError {
  return integrityError(`${key}: ${problem}`);
}
