/**
 * fsck's metadata checks: every repo descriptor, bundle descriptor, manifest page, label (and the WAL chain of
 * its moves), WAL record and session record is read through the same validating readers the commands use; a
 * damaged or missing object is a problem naming it, and the check goes on with the next object.
 */
import { isDatamoverError } from '../errors.js';
import { type BundleDescriptor, type LabelRecord, keys } from '../vocab.js';
import { scanBundles } from '../meta/bundles.js';
import { labelHistory } from '../meta/labels.js';
import { checkOrder, readPage } from '../meta/manifest.js';
import { readJson } from '../meta/objects.js';
import { labelRecord, repoDescriptor, sessionRecord, shardRecord } from '../meta/validate.js';
import { type Storage, childNames, isStorageError } from '../storage/storage.js';
import type { FsckRun } from './fsck.js';
import { type WalView, checkWal, current, lastDelete, readWalView } from './fsck-wal.js';


/** Runs `fn`; a damaged object (INTEGRITY, UNSAFE_PATH) or a missing one becomes a problem of `what`. */
async function guarded(run: FsckRun, what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!isDatamoverError(err, 'INTEGRITY') && !isDatamoverError(err, 'UNSAFE_PATH') && !isStorageError(err, 'notFound')) throw err;
    run.problem(what, (err as Error).message);
  }
}

async function keysUnder(storage: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of storage.list(prefix)) out.push(e.key);
  return out;
}

/**
 * Every repo named by metadata or by a WAL: a repo whose descriptor is lost still has its log. Per repo, in
 * reverse commit order: labels, then the WAL, then descriptors and pages (fsck.ts says why).
 */
export async function checkRepos(run: FsckRun): Promise<void> {
  const { storage } = run;
  const names = new Set([...await childNames(storage, keys.reposPrefix), ...await childNames(storage, 'wal/')]);
  for (const repo of [...names].sort()) {
    let present = true;
    await guarded(run, `repo ${repo}`, async () => {
      present = (await readJson(storage, keys.repo(repo), repoDescriptor(repo))) !== undefined;
    });
    const labels = await readLabels(run, repo);
    const wal = await readWalView(storage, repo, run.problem);
    const deletion = lastDelete(wal);
    if (!present && deletion.deleted) {
      await noteLeftovers(run, repo);
      continue;
    }
    if (!present) run.problem(`repo ${repo}`, `${keys.repo(repo)} is missing`);
    else run.result.repos++;
    wal.since = deletion.id;
    const existed = labelsProvenByWal(wal);
    const { bundles, damaged } = await scanBundles(storage, repo);
    for (const d of damaged) run.problem(`${repo} bundle descriptor`, d.problem);
    run.result.bundles += bundles.length;
    for (const bundle of bundles) await checkManifest(run, bundle);
    const committed = new Set(bundles.map((b) => b.id));
    const damagedIds = new Set(damaged.map((d) => d.key.split('/').at(-2)!));
    await checkWal(storage, wal, committed, [...labels.values()].filter((l): l is LabelRecord => !!l && !l.deleted), run.problem, run.note);
    await checkLabelTargets(run, repo, labels, committed, damagedIds);
    for (const [name, record] of existed) {
      if (!labels.has(name)) run.problem(`${repo} label ${name}`, `${keys.label(repo, name)} is missing, yet WAL record ${keys.wal(repo, record)} moved it from an existing value (labels are never removed: a delete leaves a tombstone)`);
    }
  }
}

/** Every page of the bundle (each checked against its record, and order across pages); its chunks noted. */
async function checkManifest(run: FsckRun, bundle: BundleDescriptor): Promise<void> {
  const where = `${bundle.repo}/${bundle.id}`;
  let last: string | undefined;
  for (const page of bundle.pages) {
    await guarded(run, where, async () => {
      const entries = await readPage(run.storage, page);
      if (last !== undefined) checkOrder(page.key, last, entries[0]!.path);
      for (const e of entries) {
        for (const [hash] of e.chunks ?? []) if (!run.referenced.has(hash)) run.referenced.set(hash, `${where}: ${e.path}`);
      }
    });
    last = page.last;
  }
}

/** Reads every label object: name → record (undefined when damaged: a problem naming it). */
async function readLabels(run: FsckRun, repo: string): Promise<Map<string, LabelRecord | undefined>> {
  const prefix = keys.labelsPrefix(repo);
  const labels = new Map<string, LabelRecord | undefined>();
  for (const key of await keysUnder(run.storage, prefix)) {
    if (!key.endsWith('.json')) continue;
    const name = key.slice(prefix.length, -'.json'.length);
    labels.set(name, undefined);
    await guarded(run, `${repo} label ${name}`, async () => { labels.set(name, await readJson(run.storage, key, labelRecord(name))); });
  }
  return labels;
}

/** Each live label points at a committed bundle, and the chain of its moves is present and acyclic. */
async function checkLabelTargets(
  run: FsckRun, repo: string, labels: Map<string, LabelRecord | undefined>, committed: Set<string>, damaged: Set<string>,
): Promise<void> {
  for (const [name, label] of labels) {
    if (!label) continue;
    await guarded(run, `${repo} label ${name}`, async () => {
      if (!label.deleted) {
        run.result.labels++;
        if (!committed.has(label.bundle) && !damaged.has(label.bundle)) {
          run.problem(`${repo} label ${name}`, `points at ${label.bundle}, which is not a committed bundle`);
        }
      }
      await labelHistory(run.storage, repo, name);
    });
  }
}

/**
 * The labels the WAL proves existed — a move recorded with a `previousWal` was made against an existing label
 * object — each with such a record. (A label set only once may be missing because that first set was
 * interrupted before the label was written, which the WAL cannot tell from a lost label; it is not listed.)
 */
function labelsProvenByWal(wal: WalView): Map<string, string> {
  const existed = new Map<string, string>();
  for (const [key, record] of wal.records) {
    if (record && current(wal, record) && typeof record.label === 'string' && typeof record.previousWal === 'string') {
      existed.set(record.label, key.slice(key.lastIndexOf('/') + 1, -'.json'.length));
    }
  }
  return existed;
}

/**
 * A deleted repo (its last `repo.delete` record after its last `repo.create`, no `repo.json`) is not checked;
 * metadata of it that remains is what an interrupted `repo delete` left: a note, since a rerun removes it.
 */
async function noteLeftovers(run: FsckRun, repo: string): Promise<void> {
  const left = await keysUnder(run.storage, `${keys.reposPrefix}${repo}/`);
  if (left.length) run.note(`repo ${repo}`, `deleted, but ${left.length} object(s) of it remain (an interrupted repo delete: deleting it again finishes)`);
}

/** Every split-upload session: its record present and valid, each shard record valid. */
export async function checkSessions(run: FsckRun): Promise<void> {
  const prefix = 'meta/sessions/';
  for (const id of await childNames(run.storage, prefix)) {
    await guarded(run, `session ${id}`, async () => {
      const session = await readJson(run.storage, keys.session(id), sessionRecord(id));
      if (!session) run.problem(`session ${id}`, `${keys.session(id)} is missing, yet the session has shards or pages`);
    });
    for (const key of await keysUnder(run.storage, keys.shardsPrefix(id))) {
      await guarded(run, `session ${id}`, async () => { await readJson(run.storage, key, shardRecord(id)); });
    }
  }
}
