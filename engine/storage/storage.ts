/**
 * The one Storage interface (DESIGN §4). Backends implement it; retry, limits and metrics wrap it as decorators.
 * Keys are `/`-separated, relative to the store's root, never starting with `/`.
 */
import { getMaxListeners, setMaxListeners } from 'node:events';
import type { Readable } from 'node:stream';
import { DatamoverError } from '../errors.js';
import type { Principal } from '../vocab.js';

/**
 * A replayable body: bytes that can be sent again after a failed attempt (never a drained stream).
 * A list of buffers is sent back to back, without being joined first.
 */
export type Body = Uint8Array | readonly Uint8Array[];

export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  /** Hex SHA-256 of the content, when the writer recorded it with the object (cloud metadata). */
  sha256?: string;
}

export interface ListEntry { key: string; size?: number; isPrefix?: boolean }

export interface ByteRange { offset: number; length: number }

/**
 * Every request can be cut: the cloud backends hand `signal` to the SDK or the socket, so an aborted signal
 * fails the request in flight (local file operations are short and run to their end). The failure is whatever
 * the backend reports: callers treat any failure after the abort as the interruption (cancel.ts, abortable.ts).
 */
export interface RequestOptions { signal?: AbortSignal }

export interface ListOptions extends RequestOptions { delimiter?: string }

export interface GetOptions extends RequestOptions { range?: ByteRange }

export interface PutOptions extends RequestOptions {
  /** Create-only: the write happens only if no object exists at `key`. */
  ifAbsent?: boolean;
  /** Compare-and-swap: the write happens only if the current object has this etag. */
  ifMatch?: string;
  /** Hex SHA-256 of the body: the server verifies it where it can, and it is kept with the object (`stat`). */
  sha256?: string;
}

export interface MultipartOptions {
  /** Hex SHA-256 of the whole object, kept with it (`stat`); parts are verified one by one. */
  sha256?: string;
  /**
   * Cuts the upload's part writes and its completion. Never the request that creates the upload nor `abort`:
   * an upload that was created is always known to its caller, and one cut short can still be discarded.
   */
  signal?: AbortSignal;
}

/** "Already present" or "changed under us" is a result, not an exception. */
export type PutResult = { status: 'written'; etag: string } | { status: 'precondition-failed' };

export interface MultipartUpload {
  /** Writes part `n` (1-based). Parts may be written concurrently; idempotent per `n`. */
  writePart(n: number, body: Body): Promise<void>;
  /** Makes the object visible and durable, parts in order of `n`. */
  complete(): Promise<ObjectInfo>;
  /** Discards every part. Call after in-flight parts settle. Idempotent. */
  abort(): Promise<void>;
}

export interface Capabilities {
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  conditionalWrites: boolean;
  suggestedConcurrency: number;
}

export interface Storage {
  readonly url: string;
  readonly capabilities: Capabilities;
  /** Returns undefined when there is no object at `key`. */
  stat(key: string, opts?: RequestOptions): Promise<ObjectInfo | undefined>;
  /** Every key under `prefix`, in key order; with `delimiter`, one entry per common prefix. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
  /** The object (or a byte range of it) as a stream. Fails with StorageError kind 'notFound'. */
  get(key: string, opts?: GetOptions): Promise<Readable>;
  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult>;
  openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload>;
  /**
   * Who this store's credentials are (recorded as the principal of WAL and read-log records): answered from the
   * credentials the store was opened with, never from a flag, resolved once per opened store (a failure is not
   * remembered). `key`: the object about to be written, for a decorator that routes keys to stores opened with
   * other credentials; backends ignore it. Fails with StorageError (retryable when the identity service could
   * not be reached).
   */
  identity(key?: string): Promise<Principal>;
  /**
   * Optional fast path for backends that can read straight into memory (the local store): reads `range` of
   * `key` into `into` from its start. Returns the bytes read, fewer than asked only where the object ends.
   * Fails like `get`. Use `readRangeInto`, which falls back to `get`.
   */
  readInto?(key: string, range: ByteRange, into: Uint8Array, opts?: RequestOptions): Promise<number>;
  /** Deletes the keys; missing keys are not an error. */
  delete(keys: readonly string[], opts?: RequestOptions): Promise<void>;
  /**
   * Aborts multipart uploads (staged, never completed: a killed process leaves them) whose key starts with
   * `prefix` and that began more than `olderThanMs` ago. Returns their keys. Backends without such uploads
   * (GCS resumable sessions expire by themselves) leave this out.
   */
  abortStaleUploads?(prefix: string, olderThanMs: number): Promise<string[]>;
  /**
   * The multipart uploads under `prefix` that were started and neither completed nor aborted (a running upload's
   * own included): key, when it began, and the bytes it holds where the backend tells them cheaply.
   */
  pendingUploads?(prefix: string): Promise<PendingUpload[]>;
}

/** An unfinished multipart upload (see Storage.pendingUploads). */
export interface PendingUpload { key: string; startedMs: number; bytes?: number }

export type StorageErrorKind = 'retryable' | 'notFound' | 'preconditionFailed' | 'permanent';

/**
 * A failed storage request: code STORAGE, and a `kind` that says what the retry decorator and the callers do
 * with it (retry it, treat it as absent, as a lost race, or give up).
 */
export class StorageError extends DatamoverError {
  declare readonly code: 'STORAGE';
  constructor(readonly kind: StorageErrorKind, message: string, options?: { cause?: unknown }) {
    super('STORAGE', message, options);
    this.name = 'StorageError';
  }
}

export function isStorageError(err: unknown, kind?: StorageErrorKind): err is StorageError {
  return err instanceof StorageError && (kind === undefined || err.kind === kind);
}

export function bodyParts(body: Body): readonly Uint8Array[] {
  return body instanceof Uint8Array ? [body] : body;
}

export function bodyLength(body: Body): number {
  let n = 0;
  for (const part of bodyParts(body)) n += part.byteLength;
  return n;
}

/** Reads `range` of `key` into `into` (no intermediate copies where the storage has `readInto`); see `readInto`. */
export async function readRangeInto(storage: Storage, key: string, range: ByteRange, into: Uint8Array, opts?: RequestOptions): Promise<number> {
  if (storage.readInto) return storage.readInto(key, range, into, opts);
  return copyInto(await storage.get(key, { ...opts, range }), into, range.length);
}

/** Copies a body into `into`, at most `limit` bytes; returns how many. */
export async function copyInto(body: Readable, into: Uint8Array, limit: number): Promise<number> {
  let length = 0;
  for await (const chunk of body) {
    const bytes = chunk as Uint8Array;
    const fits = Math.min(bytes.length, limit - length);
    into.set(bytes.subarray(0, fits), length);
    length += fits;
  }
  return length;
}

/** Reads a whole object (or range) into one Buffer. For metadata-sized objects. */
export async function readAll(storage: Storage, key: string, range?: ByteRange): Promise<Buffer> {
  const stream = await storage.get(key, range ? { range } : undefined);
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/**
 * `readAll` of an object that never changes once written, whose `size` a listing gave: where the storage has
 * `readInto`, one read of `size + 1` bytes (the local store: open, read, close; a read stream costs a collector
 * about a millisecond of CPU per index object). More bytes than listed fall back to `readAll`.
 */
export async function readSized(storage: Storage, key: string, size: number | undefined): Promise<Buffer> {
  if (!storage.readInto || size === undefined) return readAll(storage, key);
  const into = Buffer.allocUnsafe(size + 1);
  const got = await storage.readInto(key, { offset: 0, length: size + 1 }, into);
  return got <= size ? into.subarray(0, got) : readAll(storage, key);
}

/** Reads an object, or undefined when it does not exist. */
export async function readIfExists(storage: Storage, key: string): Promise<Buffer | undefined> {
  try {
    return await readAll(storage, key);
  } catch (err) {
    if (isStorageError(err, 'notFound')) return undefined;
    throw err;
  }
}

/** Names of the sub-"directories" of `prefix` (a `/`-delimited listing's common prefixes, without `prefix`). */
export async function childNames(storage: Storage, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of storage.list(prefix, { delimiter: '/' })) if (e.isPrefix) names.push(e.key.slice(prefix.length, -1));
  return names;
}

/** Whether any object lies under `prefix` (stops at the first). */
export async function holdsAny(storage: Storage, prefix: string): Promise<boolean> {
  for await (const _ of storage.list(prefix)) return true;
  return false;
}

/** Abort listeners a shared signal may carry: two for each request in flight, at the highest --concurrency. */
const REQUEST_LISTENERS = 2 * 1024 + 64;

/**
 * `signal`, ready to be shared by every request a backend keeps in flight. HTTP clients add an abort listener
 * or two to it for each request and remove them when the request ends; past 10 at once Node prints a
 * MaxListenersExceededWarning on stderr for a leak that is none (a 1 GiB upload with 8 parts in flight did).
 * The signal's threshold is raised to cover them, never lowered.
 */
export function requestSignal(signal: AbortSignal): AbortSignal {
  if (getMaxListeners(signal) < REQUEST_LISTENERS) setMaxListeners(REQUEST_LISTENERS, signal);
  return signal;
}
