/**
 * What every metadata object must look like (format v1), checked as it is read (objects.ts adds the key to the
 * message and makes it INTEGRITY). A check failing means the object is damaged or hostile: nothing read from
 * it is used. Unknown extra fields are allowed, so a newer writer's additions do not break this reader.
 */
import { DatamoverError } from '../errors.js';
import {
  type BundleDescriptor, type ChunkerSpec, type Contributor, type FileEntry, type FormatRecord, type IndexEntry,
  type LabelRecord, type ManifestPage, type RepoDescriptor, comparePaths,
} from '../vocab.js';
import { NAME, ULID } from './ids.js';
import type { SessionRecord, ShardRecord } from './sessions.js';
import type { WalRecord } from './wal.js';

type Obj = Record<string, unknown>;

const HASH = /^[0-9a-f]{64}$/;
const KiB = 1024;
const MiB = 1024 * KiB;
/** Sane bounds for chunk sizes: chunk lengths are 32-bit in the index, and a chunk is held in memory whole. */
const MIN_CHUNK = 64;
export const MAX_CHUNK = 256 * MiB;
const MAX_SEGMENT = 1024 * MiB;

class Invalid extends Error {}

function fail(message: string): never {
  throw new Invalid(message);
}

function object(v: unknown, what: string): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${what} is not an object`);
  return v as Obj;
}

function str(o: Obj, field: string, test?: RegExp): string {
  const v = o[field];
  if (typeof v !== 'string' || (test && !test.test(v))) fail(`field ${field} is missing or malformed (${JSON.stringify(v)})`);
  return v;
}

/** A string field that must name what the object's key names (a record moved or copied under another key). */
function own(o: Obj, field: string, want: string, test?: RegExp): void {
  const got = str(o, field, test);
  if (got !== want) fail(`${field} ${JSON.stringify(got)} is not ${want}`);
}

function int(o: Obj, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    fail(`field ${field} is missing or out of range (${JSON.stringify(v)}; expected an integer in ${min}..${max})`);
  }
  return v;
}

function num(o: Obj, field: string): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`field ${field} is missing or not a number (${JSON.stringify(v)})`);
  return v;
}

function contributor(o: Obj): Contributor {
  const c = object(o.contributor, 'field contributor');
  str(c, 'name');
  str(c, 'email');
  return c as unknown as Contributor;
}

/** The principal (vocab Principal): optional on read (older records have none); written on every new record. */
function principal(o: Obj): void {
  if (o.principal === undefined) return;
  const p = object(o.principal, 'field principal');
  str(p, 'id');
  str(p, 'via');
  if (p.uid !== undefined) int(p, 'uid');
}

function chunker(v: unknown): ChunkerSpec {
  try {
    return chunkerFields(object(v, 'field chunker'));
  } catch (err) {
    fail(`field chunker: ${(err as Error).message}`);
  }
}

function chunkerFields(c: Obj): ChunkerSpec {
  if (c.kind === 'fixed') {
    int(c, 'size', MIN_CHUNK, MAX_CHUNK);
  } else if (c.kind === 'fastcdc') {
    const min = int(c, 'min', MIN_CHUNK, MAX_CHUNK);
    const avg = int(c, 'avg', min, MAX_CHUNK);
    const max = int(c, 'max', avg, MAX_CHUNK);
    int(c, 'segment', max, MAX_SEGMENT);
  } else {
    fail(`chunker kind ${JSON.stringify(c.kind)} is unknown`);
  }
  return c as unknown as ChunkerSpec;
}

/** `format.json`, whose `format` and `version` the caller has already found to be this build's. */
export function formatRecord(v: unknown): FormatRecord {
  const o = object(v, 'format.json');
  str(o, 'hash', /^sha256$/);
  chunker(o.chunker);
  str(o, 'created');
  return o as unknown as FormatRecord;
}

/** The checks of a bundle descriptor; `expected` is what its key says (repo and id). */
export function bundleDescriptor(expected: { repo: string; id: string }): (v: unknown) => BundleDescriptor {
  return (v) => {
    const o = object(v, 'the descriptor');
    own(o, 'id', expected.id, ULID);
    own(o, 'repo', expected.repo);
    if (!Array.isArray(o.parents) || o.parents.some((p) => typeof p !== 'string' || !ULID.test(p))) fail('field parents is malformed');
    str(o, 'created');
    str(o, 'hash', /^sha256$/);
    chunker(o.chunker);
    contributor(o);
    principal(o);
    if (typeof o.message !== 'string') fail('field message is not a string');
    int(o, 'files');
    int(o, 'bytes');
    object(o.stats, 'field stats');
    pageRecords(o.pages);
    if (o.inputs !== undefined) bundleInputs(o.inputs);
    if (o.run !== undefined) runInfo(o.run);
    return o as unknown as BundleDescriptor;
  };
}

/** A descriptor's (optional) inputs: a list of {repo, bundle}, each a well-formed name and id. */
function bundleInputs(v: unknown): void {
  if (!Array.isArray(v)) fail('field inputs is not a list');
  v.forEach((input, n) => {
    try {
      const o = object(input, 'it');
      str(o, 'repo', NAME);
      str(o, 'bundle', ULID);
    } catch (err) {
      fail(`input ${n}: ${(err as Error).message}`);
    }
  });
}

/** A descriptor's (optional) run: an id, and for a `run`, the command's argv, exit status and seconds. */
function runInfo(v: unknown): void {
  try {
    const o = object(v, 'it');
    str(o, 'id');
    if (o.command !== undefined && (!Array.isArray(o.command) || o.command.some((a) => typeof a !== 'string'))) fail('field command is not a list of strings');
    if (o.exitStatus !== undefined) int(o, 'exitStatus', 0, 255);
    if (o.seconds !== undefined) num(o, 'seconds');
  } catch (err) {
    fail(`field run: ${(err as Error).message}`);
  }
}

/**
 * A descriptor's (or shard record's) page records: well-formed, each first <= last, and in strictly increasing
 * path order across pages — so a page's neighbours bound where its entries can be (see `pageBounds`).
 */
export function pageRecords(v: unknown): ManifestPage[] {
  if (!Array.isArray(v)) fail('field pages is not a list');
  let previous: ManifestPage | undefined;
  v.forEach((p, n) => {
    const o = object(p, `page record ${n}`);
    const where = `page record ${n}`;
    try {
      str(o, 'key');
      str(o, 'first');
      str(o, 'last');
      int(o, 'count', 1);
      str(o, 'sha256', HASH);
    } catch (err) {
      fail(`${where}: ${(err as Error).message}`);
    }
    const page = o as unknown as ManifestPage;
    if (comparePaths(page.first, page.last) > 0) fail(`${where}: first ${JSON.stringify(page.first)} sorts after last ${JSON.stringify(page.last)}`);
    if (page.count === 1 && page.first !== page.last) fail(`${where}: one entry, but first and last differ`);
    if (previous && comparePaths(previous.last, page.first) >= 0) {
      fail(`${where}: first ${JSON.stringify(page.first)} does not sort after the previous page's last ${JSON.stringify(previous.last)}`);
    }
    previous = page;
  });
  return v as ManifestPage[];
}

/** Whether `rel` is a relative, `/`-separated path without empty, `.` or `..` components and without NUL. */
export function isSafePath(rel: string): boolean {
  return !!rel && !rel.startsWith('/') && !rel.includes('\0') && !rel.split('/').some((s) => s === '' || s === '.' || s === '..');
}

/**
 * One manifest entry: known type, safe path (UNSAFE_PATH otherwise: a path that would leave the destination),
 * numbers in range, and for a file, chunk hashes well-formed, lengths > 0, adding up to its size.
 */
export function manifestEntry(v: unknown): FileEntry {
  const o = object(v, 'the entry');
  const path = str(o, 'path');
  if (!isSafePath(path)) throw new DatamoverError('UNSAFE_PATH', `manifest path ${JSON.stringify(path)} is not a safe relative path`);
  try {
    entryFields(o);
  } catch (err) {
    fail(`entry ${JSON.stringify(path)}: ${(err as Error).message}`);
  }
  return o as unknown as FileEntry;
}

function entryFields(o: Obj): void {
  if (o.type !== 'file' && o.type !== 'dir' && o.type !== 'symlink') fail(`unknown type ${JSON.stringify(o.type)}`);
  const size = int(o, 'size');
  int(o, 'mode', 0, 0o177777);
  num(o, 'mtime');
  if (o.type === 'symlink' && typeof o.target !== 'string') fail('a symlink without a target');
  const chunks = o.chunks ?? [];
  if (!Array.isArray(chunks)) fail('field chunks is not a list');
  if (o.type !== 'file' && chunks.length) fail(`a ${o.type as string} with chunks`);
  let sum = 0;
  for (const c of chunks) {
    if (!Array.isArray(c) || c.length !== 2 || typeof c[0] !== 'string' || !HASH.test(c[0])) fail(`malformed chunk ${JSON.stringify(c)}`);
    const length = c[1] as unknown;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < 1 || length > MAX_CHUNK) fail(`chunk ${c[0].slice(0, 12)} has length ${JSON.stringify(length)}`);
    sum += length;
  }
  if (o.type === 'file' && sum !== size) fail(`size ${size}, but its chunks add up to ${sum} bytes`);
}

/** One index entry: a well-formed blob hash at a place inside a named pack. */
export function indexEntry(v: unknown): IndexEntry {
  const o = object(v, 'the entry');
  str(o, 'blob', HASH);
  str(o, 'pack', /^[0-9A-Za-z_-]{2,}$/);
  int(o, 'offset');
  int(o, 'length', 1, MAX_CHUNK);
  // An encoding this build does not know would be served as raw bytes: refused, never guessed.
  if (o.codec !== undefined) str(o, 'codec', /^zstd$/);
  return o as unknown as IndexEntry;
}

export function repoDescriptor(name: string): (v: unknown) => RepoDescriptor {
  return (v) => {
    const o = object(v, 'the repo descriptor');
    own(o, 'name', name);
    str(o, 'created');
    contributor(o);
    principal(o);
    if (o.compression !== undefined) str(o, 'compression', /^(off|fast|default|max)$/);
    return o as unknown as RepoDescriptor;
  };
}

export function labelRecord(name: string): (v: unknown) => LabelRecord {
  return (v) => {
    const o = object(v, 'the label');
    own(o, 'name', name);
    if (o.deleted !== undefined && typeof o.deleted !== 'boolean') fail('field deleted is not a boolean');
    if (!o.deleted) str(o, 'bundle', ULID);
    str(o, 'updated');
    contributor(o);
    if (o.wal !== undefined) str(o, 'wal', ULID);
    return o as unknown as LabelRecord;
  };
}

const WAL_TYPES = new Set(['repo.create', 'bundle.commit', 'label.set', 'label.delete', 'session.start', 'session.commit',
  'bundle.forget', 'bundle.rewrite', 'repo.delete']);

export function walRecord(expected: { repo?: string; id: string }): (v: unknown) => WalRecord {
  return (v) => {
    const o = object(v, 'the WAL record');
    own(o, 'id', expected.id, ULID);
    if (!WAL_TYPES.has(str(o, 'type'))) fail(`unknown type ${JSON.stringify(o.type)}`);
    if (expected.repo !== undefined) own(o, 'repo', expected.repo);
    else str(o, 'repo');
    str(o, 'at');
    contributor(o);
    principal(o);
    if (o.previousWal !== undefined && o.previousWal !== null) str(o, 'previousWal', ULID);
    return o as unknown as WalRecord;
  };
}

export function sessionRecord(id: string): (v: unknown) => SessionRecord {
  return (v) => {
    const o = object(v, 'the session record');
    own(o, 'id', id, ULID);
    str(o, 'repo');
    str(o, 'created');
    contributor(o);
    return o as unknown as SessionRecord;
  };
}

export function shardRecord(session: string): (v: unknown) => ShardRecord {
  return (v) => {
    const o = object(v, 'the shard record');
    own(o, 'session', session);
    const count = int(o, 'count', 1);
    int(o, 'index', 0, count - 1);
    int(o, 'files');
    int(o, 'bytes');
    object(o.stats, 'field stats');
    pageRecords(o.pages);
    return o as unknown as ShardRecord;
  };
}
