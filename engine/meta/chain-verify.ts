/**
 * Verifying the hash chain of a repo's WAL or read log (chain.ts, docs/audit.md): every record is read, and
 * each link (a record's `prev`, the head's tips) must name a record that is there with the hash the link
 * recorded. A record edited, deleted, renamed or swapped breaks a link; the newest ones are witnessed by the head.
 */
import { decodeTime } from 'ulid';
import { isStorageError, readIfExists, type Storage } from '../storage/storage.js';
import { type ChainLink, type ChainLog, chainHead, checkLink, headKey, logPrefix, recordHash, recordIdOf, signedBytes } from './chain.js';
import type { RecordVerifier } from './signing.js';

/** A broken link or other finding, named by the key of the record (or head) it is about. */
export interface ChainFinding { key: string; detail: string }

/** What verifying one repo's log found. `problems` are sorted by record id: the first is the first broken link. */
export interface ChainReport {
  log: ChainLog;
  repo: string;
  records: number;
  chained: number;
  signed: number;
  /** The newest record written before the log was chained (nothing proves those records unchanged). */
  unchainedUpTo?: string;
  /** The tips the head lists: kept elsewhere, they let a later verify notice a deleted tail (docs/audit.md). */
  tips: ChainLink[];
  problems: ChainFinding[];
  notes: ChainFinding[];
}

interface Entry { id: string; key: string; record?: Record<string, unknown>; hash?: string; prev?: ChainLink[]; damaged?: boolean }

const READ_AHEAD = 16;

/** What to verify beyond the links: signatures by these keys; tips of the chain kept outside the store. */
export interface ChainChecks { verifiers?: RecordVerifier[]; kept?: ChainLink[] }

/**
 * Verifies `repo`'s `log`. With `verifiers`, each chained record must also be signed by one of their keys; each
 * `kept` tip (one the head listed once, saved elsewhere) must still be there with its hash, like the head's.
 * Safe while writers append: the head is read before the records are listed, and a linked record the listing
 * missed is looked for again before it is called missing.
 */
export async function verifyChain(storage: Storage, log: ChainLog, repo: string, checks: ChainChecks = {}): Promise<ChainReport> {
  const { verifiers = [], kept = [] } = checks;
  const report: ChainReport = { log, repo, records: 0, chained: 0, signed: 0, tips: [], problems: [], notes: [] };
  const problem = (key: string, detail: string) => report.problems.push({ key, detail });
  const head = await readHead(storage, log, repo, problem);
  const entries = await readEntries(storage, log, repo, problem);
  const byId = new Map(entries.map((e) => [e.id, e]));
  report.records = entries.length;
  classify(report, entries, head !== undefined, log, repo);
  if (head) report.tips = head;
  const linked = await checkLinks(storage, report, byId, [...(head ?? []).map((l) => ({ link: l, from: `the chain head ${headKey(log, repo)}` })),
    ...kept.map((l) => ({ link: l, from: 'the tip kept outside the store' }))], problem);
  for (const e of entries) {
    if (e.prev && !e.damaged && !linked.has(e.id)) {
      report.notes.push({ key: e.key, detail: 'no later record nor the chain head links to it (its writer stopped before updating the head, or it was put there)' });
    }
  }
  if (verifiers.length) checkSignatures(report, entries, verifiers);
  report.problems.sort((a, b) => (order(a.key) < order(b.key) ? -1 : order(a.key) > order(b.key) ? 1 : 0));
  return report;
}

/** Sort key of a finding: its record id; the head after every record. */
const order = (key: string) => recordIdOf(key) ?? `~${key}`;

async function readHead(storage: Storage, log: ChainLog, repo: string, problem: (k: string, d: string) => void): Promise<ChainLink[] | undefined> {
  const key = headKey(log, repo);
  const data = await readIfExists(storage, key);
  if (data === undefined) return undefined;
  try {
    return chainHead(JSON.parse(data.toString('utf8'))).tips;
  } catch (err) {
    problem(key, `the chain head is damaged (${(err as Error).message}): the newest records are not witnessed`);
    return [];
  }
}

/**
 * Every record of the log (but those in `known`), oldest first; one that cannot be read as the record its key
 * names is a problem.
 */
async function readEntries(
  storage: Storage, log: ChainLog, repo: string, problem: (k: string, d: string) => void, known?: Map<string, Entry>,
): Promise<Entry[]> {
  const found: Entry[] = [];
  for await (const e of storage.list(logPrefix(log, repo))) {
    const id = recordIdOf(e.key);
    if (id && !known?.has(id)) found.push({ id, key: e.key });
  }
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < found.length; i += READ_AHEAD) {
    await Promise.all(found.slice(i, i + READ_AHEAD).map((e) => readEntry(storage, e, problem)));
  }
  return found;
}

async function readEntry(storage: Storage, e: Entry, problem: (k: string, d: string) => void): Promise<void> {
  try {
    const data = await readIfExists(storage, e.key);
    if (data === undefined) throw new Error('listed, then gone');
    const record = JSON.parse(data.toString('utf8')) as unknown;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw new Error('not an object');
    const r = record as Record<string, unknown>;
    if (r.id !== e.id) throw new Error(`it holds record ${JSON.stringify(r.id)}, not ${e.id} (renamed, moved or swapped)`);
    if (r.prev !== undefined) {
      if (!Array.isArray(r.prev)) throw new Error('field prev is not a list');
      e.prev = r.prev.map((l) => checkLink(l, 'link in prev'));
    }
    e.record = r;
    e.hash = recordHash(r);
  } catch (err) {
    if (isStorageError(err) && !isStorageError(err, 'notFound')) throw err;
    e.damaged = true;
    problem(e.key, `damaged: ${(err as Error).message}`);
  }
}

/**
 * Records before the first chained one are the unchained prefix (written before chaining); one without a link
 * after it is a problem. Chained records without a head: the witness of the newest ones is gone.
 */
function classify(report: ChainReport, entries: Entry[], hasHead: boolean, log: ChainLog, repo: string): void {
  const first = entries.find((e) => e.prev);
  for (const e of entries) {
    if (e.damaged) continue;
    if (e.prev) report.chained++;
    else if (!first || e.id < first.id) report.unchainedUpTo = e.key;
    else report.problems.push({ key: e.key, detail: `no chain link, yet the chain began before it at ${first.key} (put there, or written by a datamover that does not chain)` });
  }
  if (first && !hasHead) report.problems.push({ key: headKey(log, repo), detail: 'the chain head is missing: the newest records are not witnessed (they, and it, may have been deleted)' });
}

/**
 * Follows the head's (and the kept) tips, then each intact record's links, newest record first, so that a record found altered
 * is known before its own links are followed (an altered record's links prove nothing). Returns the ids linked to.
 */
async function checkLinks(
  storage: Storage, report: ChainReport, byId: Map<string, Entry>, tips: { link: ChainLink; from: string }[], problem: (k: string, d: string) => void,
): Promise<Set<string>> {
  const linked = new Set<string>();
  const altered = new Set<string>();
  let relisted = false;
  const follow = async (link: ChainLink, from: string) => {
    linked.add(link.id);
    let target = byId.get(link.id);
    if (!target && !relisted) {
      relisted = true; // a record written while the log was listed: look again once
      for (const e of await readEntries(storage, report.log, report.repo, problem, byId)) byId.set(e.id, e);
      target = byId.get(link.id);
    }
    if (!target) return problem(missingKey(report, link.id), `missing, yet ${from} links to it (deleted, or renamed)`);
    if (target.damaged || target.hash === link.sha256 || altered.has(target.id)) return;
    altered.add(target.id);
    problem(target.key, `altered: its hash is ${target.hash!.slice(0, 16)}…, but ${from} recorded ${link.sha256.slice(0, 16)}…`);
  };
  for (const tip of tips) await follow(tip.link, tip.from);
  const newestFirst = [...byId.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  for (const e of newestFirst) {
    if (!e.prev || e.damaged || altered.has(e.id)) continue;
    for (const link of e.prev) await follow(link, e.key);
  }
  return linked;
}

/** The key a missing record had: the WAL's is known; the read log's day is the day of the id's time. */
function missingKey(report: ChainReport, id: string): string {
  if (report.log === 'wal') return `wal/${report.repo}/${id}.json`;
  return `readlog/${report.repo}/${new Date(decodeTime(id)).toISOString().slice(0, 10)}/${id}.json`;
}

/** Each intact chained record is signed, by one of `verifiers`' keys, and its signature holds. */
function checkSignatures(report: ChainReport, entries: Entry[], verifiers: RecordVerifier[]): void {
  const byKey = new Map(verifiers.map((v) => [v.keyId, v]));
  for (const e of entries) {
    if (!e.prev || !e.record) continue;
    const { sig, signer } = e.record;
    if (typeof sig !== 'string' || typeof signer !== 'string') {
      report.problems.push({ key: e.key, detail: 'not signed' });
      continue;
    }
    const verifier = byKey.get(signer);
    if (!verifier) report.problems.push({ key: e.key, detail: `signed by key ${signer}, not by ${[...byKey.keys()].join(' or ')}` });
    else if (!verifier.verify(signedBytes(e.record), sig)) report.problems.push({ key: e.key, detail: `its signature by key ${signer} does not hold (altered, or forged)` });
    else report.signed++;
  }
}
