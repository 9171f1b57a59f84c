/**
 * Split uploads (DESIGN §8): a session is started once; each shard — a process, a pod of an Indexed Job —
 * uploads the files whose stable path hash falls in it and records a shard manifest; the commit merges every
 * shard's manifest into one bundle whose id is the session's, so a session commits at most once (the
 * descriptor is create-only).
 */
import { createHash } from 'node:crypto';
import { DatamoverError, InputError, notFound, usageError } from '../errors.js';
import { displayName } from '../fs-path.js';
import type { Storage } from '../storage/storage.js';
import {
  type BundleDescriptor, type BundleStats, type Contributor, type FileEntry, type FormatRecord, type LabelRecord, type ManifestPage,
  type RunInfo, comparePaths, keys,
} from '../vocab.js';
import { commitBundle } from './commit.js';
import { withWriterLease } from '../gc/lease.js';
import { openFormat } from './format.js';
import { checkBundleId, newId } from './ids.js';
import { getLabel } from './labels.js';
import { ManifestWriter, readEntries } from './manifest.js';
import { putJson, readJson } from './objects.js';
import { sessionRecord, shardRecord } from './validate.js';
import { getRepo } from './repos.js';
import { appendWal } from './wal.js';
import { type InputRef, lineageFields } from '../run/inputs.js';

export interface SessionRecord { id: string; repo: string; created: string; contributor: Contributor; message: string }

export interface ShardSpec { index: number; count: number }

/** One finished shard: its manifest pages (entries of this shard only, in manifest order) and totals. */
export interface ShardRecord extends ShardSpec {
  session: string;
  /** The upload attempt that wrote `pages`; a rerun of the shard replaces the record with its own. */
  attempt: string;
  created: string;
  contributor: Contributor;
  files: number;
  bytes: number;
  pages: ManifestPage[];
  stats: BundleStats;
}

/** Which shard of `count` a path belongs to: a stable hash of the path, the same on every machine. */
export function shardOf(path: string, count: number): number {
  return createHash('sha256').update(path).digest().readUInt32BE(0) % count;
}

/** Parses `i/N` (0 ≤ i < N); fails with USAGE naming `flag`. */
/** More shards than this is a typo: a commit lists and merges every shard record. */
export const MAX_SHARDS = 10_000;

/** Parses `i/N`. Fails with USAGE (an InputError of field `field`). */
export function parseShard(value: string, field = 'shard'): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(count >= 1 && count <= MAX_SHARDS && index >= 0 && index < count)) {
    throw new InputError(field, JSON.stringify(value), `expected i/N with 0 <= i < N <= ${MAX_SHARDS} (shards count from 0, like JOB_COMPLETION_INDEX)`);
  }
  return { index, count };
}

/** Starts a session in `repo`: a create-only record and a `session.start` WAL record. NOT_FOUND for the repo. */
export async function startSession(storage: Storage, repo: string, contributor: Contributor, message = ''): Promise<SessionRecord> {
  await openFormat(storage, false);
  await getRepo(storage, repo);
  const session: SessionRecord = { id: newId(), repo, created: new Date().toISOString(), contributor, message };
  await putJson(storage, keys.session(session.id), session, { ifAbsent: true });
  await appendWal(storage, 'session.start', repo, contributor, { session: session.id, message });
  return session;
}

/**
 * The session, checked to belong to `repo` and not to be committed yet. USAGE (malformed id, other repo),
 * NOT_FOUND (no such session), ALREADY_EXISTS (committed).
 */
export async function openSession(storage: Storage, repo: string, id: string): Promise<SessionRecord> {
  checkBundleId(id, 'session id');
  const session = await readJson(storage, keys.session(id), sessionRecord(id));
  if (!session) throw notFound(`session ${id} not found`);
  if (session.repo !== repo) throw usageError(`session ${id} belongs to repo ${session.repo}, not ${repo}`);
  if (await storage.stat(keys.bundle(repo, id))) {
    throw new DatamoverError('ALREADY_EXISTS', `session ${id} is already committed (as bundle ${id})`);
  }
  return session;
}

/** Records a finished shard; a rerun of the same shard replaces the record (the same files, uploaded again). */
export async function recordShard(storage: Storage, shard: ShardRecord): Promise<void> {
  await putJson(storage, keys.shard(shard.session, shard.index), shard);
}

/** Every shard record, checked complete: CONFLICT when shards disagree on N, NOT_FOUND naming missing ones. */
async function completeShards(storage: Storage, session: string): Promise<ShardRecord[]> {
  const shards: ShardRecord[] = [];
  for await (const entry of storage.list(keys.shardsPrefix(session))) {
    const shard = await readJson(storage, entry.key, shardRecord(session));
    if (shard) shards.push(shard);
  }
  if (!shards.length) throw notFound(`session ${session} has no finished shard`);
  const counts = [...new Set(shards.map((s) => s.count))];
  if (counts.length > 1) throw new DatamoverError('CONFLICT', `the shards of session ${session} disagree on the shard count (${counts.join(' vs ')})`);
  const count = counts[0]!;
  const have = new Set(shards.map((s) => s.index));
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !have.has(i));
  if (missing.length) {
    throw notFound(`session ${session}: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} not finished`);
  }
  return shards.sort((a, b) => a.index - b.index);
}

export interface SessionCommit {
  storage: Storage;
  repo: string;
  session: string;
  contributor: Contributor;
  label?: string;
  message?: string;
  /** The store's format record when the caller (a Store) has checked it; read here otherwise. */
  format?: FormatRecord;
  /** The bundles the merged bundle is made from, and its run (as for `uploadBundle`). */
  inputs?: InputRef[];
  run?: RunInfo;
}

/**
 * Merges every shard's manifest (a streaming k-way merge, one page per shard in memory) into the pages of one
 * bundle with the session's id, then commits it: WAL, descriptor create-only, label by CAS. Errors as for
 * `openSession`, plus NOT_FOUND (a shard missing) and CONFLICT (shards disagree on N, or about a path).
 */
export async function commitSession(req: SessionCommit): Promise<{ bundle: BundleDescriptor; label?: LabelRecord }> {
  const { storage, repo } = req;
  const format = req.format ?? await openFormat(storage, false);
  const session = await openSession(storage, repo, req.session);
  const shards = await completeShards(storage, session.id);
  const lineage = await lineageFields(req);
  const parent = req.label ? await getLabel(storage, repo, req.label).catch(() => undefined) : undefined;
  const attempt = newId();
  return withWriterLease(storage, 'session.commit', { repo, id: session.id }, async (lease) => {
    const writer = new ManifestWriter(storage, (n) => keys.manifestPage(repo, session.id, n, attempt));
    for await (const entry of mergeShards(storage, shards)) await writer.add(entry);
    const pages = await writer.finish();
    const sum = (f: (s: ShardRecord) => number) => shards.reduce((n, s) => n + f(s), 0);
    const skippedFiles = sum((s) => s.stats.skippedFiles ?? 0);
    const bundle: BundleDescriptor = {
      id: session.id, repo, parents: parent ? [parent.bundle] : [], message: req.message || session.message,
      contributor: req.contributor, created: new Date().toISOString(), hash: format.hash, chunker: format.chunker,
      files: sum((s) => s.files), bytes: sum((s) => s.bytes), pages,
      stats: {
        newBytes: sum((s) => s.stats.newBytes), dedupBytes: sum((s) => s.stats.dedupBytes),
        unchangedBytes: sum((s) => s.stats.unchangedBytes ?? 0), packs: sum((s) => s.stats.packs),
        ...(skippedFiles ? { skippedFiles } : {}),
        seconds: Math.max(...shards.map((s) => s.stats.seconds)),
      },
      ...lineage,
    };
    return commitBundle(storage, bundle, req.label, { session: session.id, shards: shards.length }, lease);
  });
}

/**
 * The shards' entries in manifest order. A file or symlink in two shards is a CONFLICT, and so is a directory
 * two shards record differently; a directory two shards record alike is taken once.
 */
async function* mergeShards(storage: Storage, shards: readonly ShardRecord[]): AsyncGenerator<FileEntry> {
  const streams = shards.map((s) => readEntries(storage, s.pages));
  const heads = await Promise.all(streams.map((s) => s.next()));
  for (;;) {
    let min = -1;
    for (let i = 0; i < heads.length; i++) {
      const head = heads[i]!;
      if (head.done) continue;
      if (min < 0) { min = i; continue; }
      const order = comparePaths(head.value.path, (heads[min]!.value as FileEntry).path);
      if (order < 0) min = i;
      else if (order === 0) {
        // Shards given their own lists (--files) share the directories above them; a file, link or listed
        // directory's entries are owned by one shard, and two owning one path is a mistake in the lists.
        if (head.value.type !== 'dir' || (heads[min]!.value as FileEntry).type !== 'dir') {
          throw new DatamoverError('CONFLICT', `${displayName(head.value.path)} is claimed by shards ${shards[min]!.index} and ${shards[i]!.index}: each path must be in one shard only`);
        }
        if (JSON.stringify(head.value) !== JSON.stringify(heads[min]!.value)) {
          throw new DatamoverError('CONFLICT', `shards ${shards[min]!.index} and ${shards[i]!.index} disagree about ${head.value.path}`);
        }
        heads[i] = await streams[i]!.next(); // the same entry twice: keep one
        i--;
      }
    }
    if (min < 0) return;
    yield heads[min]!.value as FileEntry;
    heads[min] = await streams[min]!.next();
  }
}
