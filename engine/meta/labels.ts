import { DatamoverError, notFound } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type Contributor, type LabelRecord, keys } from '../vocab.js';
import { checkName } from './ids.js';
import { putJson, readJson } from './objects.js';
import { appendWal } from './wal.js';

const CAS_ATTEMPTS = 20;

/**
 * Points label `name` at `bundle` by compare-and-swap: reads the label and its etag, writes only if unchanged,
 * and on a lost race tries again against the new value. The `label.set` WAL record is written first, naming
 * the value it replaces. Fails with CONFLICT after 20 lost races; never overwrites blindly.
 */
export async function setLabel(
  storage: Storage, repo: string, name: string, bundle: string, contributor: Contributor,
): Promise<LabelRecord> {
  checkName(name, 'label');
  const key = keys.label(repo, name);
  for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
    const current = await storage.stat(key);
    const previous = current ? (await readJson<LabelRecord>(storage, key))?.bundle : undefined;
    const record: LabelRecord = { name, bundle, updated: new Date().toISOString(), contributor };
    if (attempt === 0) await appendWal(storage, 'label.set', repo, contributor, { label: name, bundle, previous: previous ?? null });
    const result = await putJson(storage, key, record, current ? { ifMatch: current.etag } : { ifAbsent: true });
    if (result.status === 'written') return record;
  }
  throw new DatamoverError('CONFLICT', `label ${name} in repo ${repo} kept changing; not set after ${CAS_ATTEMPTS} attempts`);
}

/** The label. Fails with NOT_FOUND naming it. */
export async function getLabel(storage: Storage, repo: string, name: string): Promise<LabelRecord> {
  checkName(name, 'label');
  const label = await readJson<LabelRecord>(storage, keys.label(repo, name));
  if (!label) throw notFound(`label ${name} not found in repo ${repo}`);
  return label;
}

export async function listLabels(storage: Storage, repo: string): Promise<LabelRecord[]> {
  const labels: LabelRecord[] = [];
  for await (const entry of storage.list(keys.labelsPrefix(repo))) {
    if (!entry.key.endsWith('.json')) continue;
    const label = await readJson<LabelRecord>(storage, entry.key);
    if (label) labels.push(label);
  }
  return labels;
}
