/**
 * fsck's WAL checks: every visible bundle has its `bundle.commit` record (written before the descriptor), and
 * every label names the record of the move that set it. A commit record whose bundle never appeared is a
 * failed or killed commit: information, not a problem.
 * The WAL is read before the descriptors are listed (fsck's view is taken in reverse commit order); a bundle
 * whose record was not in that first reading is looked up again in a fresh listing before it is reported, since
 * a concurrent commit may have written both in between.
 */
import { recordIdOf } from '../meta/chain.js';
import { type WalRecord, readWal } from '../meta/wal.js';
import { isStorageError, type Storage } from '../storage/storage.js';
import { type LabelRecord, keys } from '../vocab.js';

export type Report = (what: string, detail: string) => void;

/**
 * The WAL records of one repo read so far, by key. `since`: the id of the repo's last `repo.delete` record;
 * records up to it describe a deleted repo of the same name, not this one.
 */
export interface WalView { repo: string; records: Map<string, WalRecord | undefined>; since?: string }

/** Reads every WAL record of `repo` (a damaged one is a problem naming it). */
export async function readWalView(storage: Storage, repo: string, problem: Report): Promise<WalView> {
  const view: WalView = { repo, records: new Map() };
  await readNew(storage, view, problem);
  return view;
}

async function readNew(storage: Storage, view: WalView, problem: Report): Promise<void> {
  for await (const e of storage.list(keys.walPrefix(view.repo))) {
    if (view.records.has(e.key) || !recordIdOf(e.key)) continue; // the chain head is not a record
    try {
      view.records.set(e.key, await readWal(storage, view.repo, walId(e.key)));
    } catch (err) {
      if (isStorageError(err) && !isStorageError(err, 'notFound')) throw err;
      view.records.set(e.key, undefined);
      problem(`WAL record ${e.key}`, `unreadable: ${(err as Error).message}`);
    }
  }
}

/** The record id of a WAL key (`wal/<repo>/<id>.json`). */
function walId(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1, -'.json'.length);
}

/** Bundle id → the key of its `bundle.commit` record, for records after `since`; forgotten bundles left out. */
function commits(view: WalView): Map<string, string> {
  const out = new Map<string, string>();
  const forgotten = forgottenBundles(view);
  for (const [key, r] of view.records) {
    if (r?.type === 'bundle.commit' && typeof r.bundle === 'string' && current(view, r) && !forgotten.has(r.bundle)) out.set(r.bundle, key);
  }
  return out;
}

/** Whether a record belongs to the repo as it is now (not to a deleted one of the same name). */
export function current(view: WalView, r: WalRecord): boolean {
  return view.since === undefined || r.id > view.since;
}

/** Bundles a `bundle.forget` record names (forget, retention, rewrite). */
export function forgottenBundles(view: WalView): Set<string> {
  const out = new Set<string>();
  for (const r of view.records.values()) if (r?.type === 'bundle.forget' && typeof r.bundle === 'string') out.add(r.bundle);
  return out;
}

/**
 * The id of the repo's last `repo.delete` record, and whether it came after the last `repo.create` (the repo
 * is deleted, not re-created).
 */
export function lastDelete(view: WalView): { id?: string; deleted: boolean } {
  let del: string | undefined;
  let create: string | undefined;
  for (const r of view.records.values()) {
    if (r?.type === 'repo.delete' && (!del || r.id > del)) del = r.id;
    if (r?.type === 'repo.create' && (!create || r.id > create)) create = r.id;
  }
  return { id: del, deleted: del !== undefined && (!create || del > create) };
}

/** Checks the WAL of one repo against its bundles (listed after `view`) and labels (listed before it). */
export async function checkWal(
  storage: Storage, view: WalView, bundles: Set<string>, labels: LabelRecord[], problem: Report, note: Report,
): Promise<void> {
  let recorded = commits(view);
  if ([...bundles].some((id) => !recorded.has(id))) {
    await readNew(storage, view, problem);
    recorded = commits(view);
  }
  const forgotten = forgottenBundles(view);
  for (const id of bundles) {
    if (forgotten.has(id)) note(`${view.repo}/${id}`, 'a bundle.forget record names it, yet it is still there (an interrupted forget: forgetting it again finishes)');
    else if (!recorded.has(id)) problem(`${view.repo}/${id}`, 'a committed bundle without its bundle.commit WAL record');
  }
  for (const [id, key] of recorded) {
    if (!bundles.has(id)) note(`WAL record ${key}`, `bundle.commit of ${id}, which never became visible (a failed or killed commit)`);
  }
  for (const label of labels) {
    if (!label.wal) continue; // written before labels named their record
    const key = keys.wal(view.repo, label.wal);
    const record = view.records.has(key) ? view.records.get(key) : await readWal(storage, view.repo, label.wal).catch(() => undefined);
    const what = `${view.repo} label ${label.name}`;
    if (!record) problem(what, `its WAL record ${label.wal} is missing or unreadable`);
    else if (record.type !== 'label.set' || record.bundle !== label.bundle) {
      problem(what, `points at ${label.bundle}, but its WAL record ${label.wal} is a ${record.type} to ${String(record.bundle)}`);
    }
  }
}
