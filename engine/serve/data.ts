/** The data the pages and the JSON API show alike, read through the Store and Repo API. */
import { type Change } from '../meta/diff.js';
import { checkName, idAt, parseSince } from '../meta/ids.js';
import type { ReadRecord } from '../meta/readlog.js';
import type { WalRecord } from '../meta/wal.js';
import type { Repo } from '../repo.js';
import type { Store } from '../store.js';
import type { BundleDescriptor, Contributor, LabelRecord } from '../vocab.js';
import { type Exchange, badRequest, param } from './exchange.js';

/** A repo's bundles, newest first, with the labels pointing at each, and the descriptors that are damaged. */
export async function bundleRows(repo: Repo) {
  const [{ bundles, damaged }, labels] = await Promise.all([repo.bundles(), repo.labels()]);
  const labelsOf = new Map<string, string[]>();
  for (const label of labels) labelsOf.set(label.bundle, [...(labelsOf.get(label.bundle) ?? []), label.name]);
  const rows = [...bundles].reverse().map((bundle) => ({ bundle, labels: labelsOf.get(bundle.id) ?? [] }));
  return { rows, damaged, labels };
}

/** A bundle descriptor without its manifest page records (what a listing shows). */
export function summary(b: BundleDescriptor) {
  const { pages: _pages, ...rest } = b;
  return rest;
}

/** Every label of a repo with its moves, newest first. */
export async function labelsWithHistory(repo: Repo): Promise<{ label: LabelRecord; history: WalRecord[] }[]> {
  const labels = (await repo.labels()).sort((a, b) => (a.name < b.name ? -1 : 1));
  return Promise.all(labels.map(async (label) => ({ label, history: await repo.labelHistory(label.name) })));
}

export const DEFAULT_LIMIT = 200;
export const MAX_LIMIT = 10_000;

/** A timeline's filter, from the query: `repo`, `contributor` (part of "Name <email>", any case), `since`, `limit`. */
export interface TimelineFilter { repo?: string; contributor?: string; since?: string; limit: number }

/** The filter in a request's query; 400 naming the parameter when one is malformed. */
export function timelineFilter(ex: Exchange): TimelineFilter {
  const repo = param(ex, 'repo');
  if (repo !== undefined) {
    try { checkName(repo, 'repo'); } catch { throw badRequest(`repo ${JSON.stringify(repo)}: not a repo name`); }
  }
  const limitText = param(ex, 'limit');
  const limit = limitText === undefined ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest(`limit: expected an integer from 1 to ${MAX_LIMIT}`);
  return { repo, contributor: param(ex, 'contributor'), since: param(ex, 'since'), limit };
}

type Kind = 'log' | 'readlog';
type RecordOf<K extends Kind> = K extends 'log' ? WalRecord : ReadRecord;

/**
 * The newest `limit` records of the WAL or the read log that pass the filter, newest first; `more` when older
 * ones passed too. The log is read from the start (or `since`) in time order: bounded memory, not bounded time.
 */
export async function timeline<K extends Kind>(store: Store, kind: K, f: TimelineFilter): Promise<{ records: RecordOf<K>[]; more: boolean }> {
  let afterId: string | undefined;
  if (f.since !== undefined) {
    try { afterId = idAt(parseSince(f.since)); } catch { throw badRequest(`since ${JSON.stringify(f.since)}: expected an ISO date/time or an age like 2h or 7d`); }
  }
  const query = { repo: f.repo, afterId };
  const source = (kind === 'log' ? store.wal(query) : store.readLog(query)) as AsyncGenerator<RecordOf<K>>;
  const needle = f.contributor?.toLowerCase();
  const kept: RecordOf<K>[] = [];
  let more = false;
  for await (const record of source) {
    if (needle && !who(record.contributor).toLowerCase().includes(needle)) continue;
    kept.push(record);
    if (kept.length > f.limit) {
      kept.shift();
      more = true;
    }
  }
  return { records: kept.reverse(), more };
}

export const who = (c: Contributor): string => `${c.name} <${c.email}>`;

/** The most changes a diff answer lists; past it the answer says it was cut. */
export const MAX_CHANGES = 10_000;

/** The changes from `a` to `b` (at most MAX_CHANGES), with the two descriptors. */
export async function diffOf(repo: Repo, a: string, b: string): Promise<{ a: BundleDescriptor; b: BundleDescriptor; changes: Change[]; more: boolean }> {
  const diff = await repo.diff(a, b);
  const changes: Change[] = [];
  for await (const change of diff.changes) {
    if (changes.length === MAX_CHANGES) return { a: diff.a, b: diff.b, changes, more: true };
    changes.push(change);
  }
  return { a: diff.a, b: diff.b, changes, more: false };
}
