/**
 * The hash chain of the WAL and the read log (docs/audit.md). Each record written carries `prev`: the id and
 * hash of each tip of its repo's log that its writer saw, so the records form a DAG in which concurrent writers
 * make two tips that the next record joins; no writer waits for another. A per-repo head object
 * (`<log>/<repo>/chain-head.json`) lists the tips, so a writer need not list the log; it is compare-and-swapped
 * after the record is written, and a verifier takes the records themselves as the truth, the head only as the
 * witness of the newest ones (which no later record links to yet).
 */
import { createHash } from 'node:crypto';
import { DatamoverError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { ULID } from './ids.js';
import { putJson, readJson } from './objects.js';
import { signerFor } from './signing.js';

/** The logs that are chained: the WAL (`wal/<repo>/<id>.json`) and the read log (`readlog/<repo>/<day>/<id>.json`). */
export type ChainLog = 'wal' | 'readlog';

/** A link to a record: its id and the SHA-256 (hex) of its canonical JSON without `sig` (`recordHash`). */
export interface ChainLink { id: string; sha256: string }

/** The head object: the tips of a repo's log, sorted by id, as of its last update. */
export interface ChainHead { tips: ChainLink[]; updated: string }

/** The chain head of `repo`'s log. Its name is not `<ULID>.json`, so record listings pass over it. */
export const headKey = (log: ChainLog, repo: string): string => `${log}/${repo}/chain-head.json`;

/** The prefix of every record of `repo`'s log. */
export const logPrefix = (log: ChainLog, repo: string): string => `${log}/${repo}/`;

/** The id in a record's key (`.../<ULID>.json`), undefined for any other key (the head). */
export function recordIdOf(key: string): string | undefined {
  return /\/([0-9A-HJKMNP-TV-Z]{26})\.json$/.exec(key)?.[1];
}

/**
 * Canonical JSON: what JSON.stringify writes, with every object's keys in sorted order (UTF-16 code units). The
 * bytes a record's hash and signature cover: independent of the order a writer put fields in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v && typeof v === 'object' && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : v));
}

/** The bytes of a record that its hash and signature cover: its canonical JSON without the field `sig`. */
export function signedBytes(record: Record<string, unknown>): Buffer {
  const { sig: _sig, ...rest } = record;
  return Buffer.from(canonicalJson(rest));
}

/** The hash that links to a record: SHA-256 (hex) of `signedBytes`. Every field counts, known or not, but `sig`. */
export function recordHash(record: Record<string, unknown>): string {
  return createHash('sha256').update(signedBytes(record)).digest('hex');
}

/** Validates a head object. */
export function chainHead(v: unknown): ChainHead {
  const o = v as Partial<ChainHead> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.tips)) throw new Error('not a chain head (no list of tips)');
  for (const t of o.tips) checkLink(t, 'tip');
  return o as ChainHead;
}

/** Throws (a plain Error, its message saying what is wrong) unless `v` is a well-formed link. */
export function checkLink(v: unknown, what: string): ChainLink {
  const l = v as Partial<ChainLink> | null;
  if (typeof l !== 'object' || l === null || typeof l.id !== 'string' || !ULID.test(l.id) || typeof l.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(l.sha256)) {
    throw new Error(`malformed ${what} ${JSON.stringify(v)}`);
  }
  return l as ChainLink;
}

/**
 * Writes `record` create-only at `key`, chained: with `prev` (the tips the head lists), and, when the store was
 * opened with a signing key, `signer` and `sig`; then adds it to the head in place of the tips it links to.
 * Returns the record as stored. Fails (the record may be written, as an unjoined tip) when the head cannot be
 * updated: INTEGRITY when it is damaged, CONFLICT when it kept changing.
 */
export async function appendChained<T extends { id: string }>(storage: Storage, log: ChainLog, repo: string, key: string, record: T): Promise<T> {
  const prev = await currentTips(storage, log, repo);
  const signer = signerFor(storage.url);
  const linked: Record<string, unknown> = JSON.parse(JSON.stringify({ ...record, prev, ...(signer ? { signer: signer.keyId } : {}) }));
  const stored = signer ? { ...linked, sig: signer.sign(signedBytes(linked)) } : linked;
  await putJson(storage, key, stored, { ifAbsent: true });
  await updaterFor(storage, headKey(log, repo)).join({ id: record.id, sha256: recordHash(linked) }, prev.map((p) => p.id));
  return stored as unknown as T;
}

/**
 * The tips the head lists. A log without a head (one written before chaining, or a new one) gets one, made
 * create-only so first writers agree: its tip is the newest record already there, which so becomes the anchor
 * that the chain covers from then on.
 */
async function currentTips(storage: Storage, log: ChainLog, repo: string): Promise<ChainLink[]> {
  const key = headKey(log, repo);
  const head = await readJson(storage, key, chainHead);
  if (head) return head.tips;
  const newest = await newestRecord(storage, log, repo);
  await putJson(storage, key, { tips: newest ? [newest] : [], updated: new Date().toISOString() } satisfies ChainHead, { ifAbsent: true });
  return (await readJson(storage, key, chainHead))?.tips ?? (newest ? [newest] : []);
}

/** A link to the newest record of the log (by id), if it has any. */
async function newestRecord(storage: Storage, log: ChainLog, repo: string): Promise<ChainLink | undefined> {
  let newest: { id: string; key: string } | undefined;
  for await (const e of storage.list(logPrefix(log, repo))) {
    const id = recordIdOf(e.key);
    if (id && (!newest || id > newest.id)) newest = { id, key: e.key };
  }
  if (!newest) return undefined;
  const record = await readJson<Record<string, unknown>>(storage, newest.key);
  return record === undefined ? undefined : { id: newest.id, sha256: recordHash(record) };
}

const HEAD_ATTEMPTS = 100;

/**
 * The head updates of one head key on one storage: the writers of this process add their records in batches,
 * one compare-and-swap per batch, so a hundred concurrent label moves do not race each other for the head.
 */
class HeadUpdater {
  private pending: { add: ChainLink; remove: string[]; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private running = false;

  constructor(private readonly storage: Storage, private readonly key: string) {}

  /** Resolves once the head lists `add` and none of `remove` (unless a later record removed `add` too). */
  join(add: ChainLink, remove: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ add, remove, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.pending.length) {
      const batch = this.pending.splice(0);
      try {
        await this.swap(batch.map((b) => b.add), new Set(batch.flatMap((b) => b.remove)));
        for (const b of batch) b.resolve();
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }

  /** Reads the head and writes it back with `add` in and `remove` out, retrying while other writers win. */
  private async swap(add: ChainLink[], remove: Set<string>): Promise<void> {
    for (let attempt = 0; attempt < HEAD_ATTEMPTS; attempt++) {
      const info = await this.storage.stat(this.key);
      const head = info ? await readJson(this.storage, this.key, chainHead) : undefined;
      const tips = new Map((head?.tips ?? []).filter((t) => !remove.has(t.id)).map((t) => [t.id, t]));
      for (const a of add) tips.set(a.id, a);
      const next: ChainHead = { tips: [...tips.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), updated: new Date().toISOString() };
      const result = await putJson(this.storage, this.key, next, info && head ? { ifMatch: info.etag } : { ifAbsent: true });
      if (result.status === 'written') return;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 + attempt * 5)));
    }
    throw new DatamoverError('CONFLICT', `${this.key}: the chain head kept changing; not updated after ${HEAD_ATTEMPTS} attempts`);
  }
}

const updaters = new WeakMap<Storage, Map<string, HeadUpdater>>();

function updaterFor(storage: Storage, key: string): HeadUpdater {
  let byKey = updaters.get(storage);
  if (!byKey) updaters.set(storage, (byKey = new Map()));
  let updater = byKey.get(key);
  if (!updater) byKey.set(key, (updater = new HeadUpdater(storage, key)));
  return updater;
}
