import { DatamoverError, integrityError, notFound } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type Contributor, type LabelRecord, keys } from '../vocab.js';
import { checkName } from './ids.js';
import { putJson, readJson } from './objects.js';
import { labelRecord } from './validate.js';
import { type WalRecord, appendWal, readWal } from './wal.js';

const CAS_ATTEMPTS = 20;

export interface LabelMove {
  /** Only move the label if it currently points at this bundle (`null`: only if the label does not exist). */
  expect?: string | null;
}

/**
 * Points label `name` at `bundle` by compare-and-swap: reads the label and its etag, writes only if unchanged,
 * and on a lost race tries again against the new value (or, with `expect`, fails with CONFLICT once the label
 * no longer holds the expected bundle). Each attempt first writes a `label.set` WAL record naming the record it
 * replaces (`previousWal`); the label names the record of the move that took effect (`wal`), so the moves that
 * happened form a chain through the WAL and lost attempts are off it. Fails with CONFLICT after 20 lost races.
 */
export async function setLabel(
  storage: Storage, repo: string, name: string, bundle: string, contributor: Contributor, move: LabelMove = {},
): Promise<LabelRecord> {
  return casLabel(storage, repo, name, contributor, move, bundle);
}

/** Deletes a label by compare-and-swap to a tombstone (so a racing `set` is never lost). NOT_FOUND when absent. */
export async function deleteLabel(
  storage: Storage, repo: string, name: string, contributor: Contributor, move: LabelMove = {},
): Promise<LabelRecord> {
  return casLabel(storage, repo, name, contributor, move, null);
}

/** Moves the label to `bundle`, or deletes it when `bundle` is null. */
async function casLabel(
  storage: Storage, repo: string, name: string, contributor: Contributor, move: LabelMove, bundle: string | null,
): Promise<LabelRecord> {
  checkName(name, 'label');
  const key = keys.label(repo, name);
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const current = await storage.stat(key);
    const previous = current ? await readJson(storage, key, labelRecord(name)) : undefined;
    const live = previous && !previous.deleted ? previous : undefined;
    if (bundle === null && !live) throw notFound(`label ${name} not found in repo ${repo}`);
    if (move.expect !== undefined && (live?.bundle ?? null) !== move.expect) {
      throw new DatamoverError('CONFLICT', `label ${name} in repo ${repo} points at ${live?.bundle ?? 'nothing'}, not ${move.expect ?? 'nothing'}; not changed`);
    }
    const wal = await appendWal(storage, bundle === null ? 'label.delete' : 'label.set', repo, contributor, {
      label: name, bundle, previous: live?.bundle ?? null, previousWal: previous?.wal ?? null,
    });
    const record: LabelRecord = bundle === null
      ? { name, bundle: '', updated: wal.at, contributor, wal: wal.id, deleted: true }
      : { name, bundle, updated: wal.at, contributor, wal: wal.id };
    const result = await putJson(storage, key, record, current ? { ifMatch: current.etag } : { ifAbsent: true });
    if (result.status === 'written') return record;
  }
  throw new DatamoverError('CONFLICT', `label ${name} in repo ${repo} kept changing; not changed after ${CAS_ATTEMPTS} attempts`);
}

/** The label. Fails with NOT_FOUND naming it (a deleted label is not found). */
export async function getLabel(storage: Storage, repo: string, name: string): Promise<LabelRecord> {
  checkName(name, 'label');
  const label = await readJson(storage, keys.label(repo, name), labelRecord(name));
  if (!label || label.deleted) throw notFound(`label ${name} not found in repo ${repo}`);
  return label;
}

/** The labels of `repo`, those whose name starts with `prefix` when given (USAGE when no name can start so). */
export async function listLabels(storage: Storage, repo: string, prefix = ''): Promise<LabelRecord[]> {
  if (prefix) checkName(prefix, 'label prefix');
  const labels: LabelRecord[] = [];
  // Label names hold no `/`, so a name prefix is a key prefix: only the matching labels are listed.
  for await (const entry of storage.list(`${keys.labelsPrefix(repo)}${prefix}`)) {
    if (!entry.key.endsWith('.json')) continue;
    const name = entry.key.slice(keys.labelsPrefix(repo).length, -'.json'.length);
    const label = await readJson(storage, entry.key, labelRecord(name));
    if (label && !label.deleted) labels.push(label);
  }
  return labels;
}

/** The longest label history followed; a longer chain is taken for a damaged one (ids are checked to decrease). */
export const MAX_LABEL_HISTORY = 1_000_000;

/**
 * Every move of a label that took effect, newest first, from the WAL: the chain from the label's current
 * record through each record's `previousWal`. NOT_FOUND when the label never existed. INTEGRITY naming the
 * record when a record is missing, damaged, of another label, or links to itself or a later record (a cycle:
 * ULIDs grow with time, so each step must go to a smaller id, which also bounds the walk).
 */
export async function labelHistory(storage: Storage, repo: string, name: string): Promise<WalRecord[]> {
  checkName(name, 'label');
  const label = await readJson(storage, keys.label(repo, name), labelRecord(name));
  if (!label) throw notFound(`label ${name} not found in repo ${repo}`);
  const out: WalRecord[] = [];
  for (let id = label.wal, from = keys.label(repo, name); id; ) {
    const record = await readWal(storage, repo, id);
    if (!record) throw integrityError(`${keys.wal(repo, id)}: WAL record of label ${name} (named by ${from}) is missing`);
    if (record.label !== name) throw integrityError(`${keys.wal(repo, id)}: WAL record is not a move of label ${name} (named by ${from})`);
    out.push(record);
    const next = typeof record.previousWal === 'string' ? record.previousWal : undefined;
    if (next !== undefined && (next >= id || out.length >= MAX_LABEL_HISTORY)) {
      throw integrityError(`${keys.wal(repo, id)}: previousWal ${next} ${next >= id ? 'is not an earlier record (a cycle in the history of' : 'continues past the longest history followed for'} label ${name})`);
    }
    from = keys.wal(repo, id);
    id = next;
  }
  return out;
}
