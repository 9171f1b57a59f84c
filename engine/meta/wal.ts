import type { Storage } from '../storage/storage.js';
import { type Contributor, keys } from '../vocab.js';
import { newId } from './ids.js';
import { putJson } from './objects.js';

export type WalType = 'repo.create' | 'bundle.commit' | 'label.set';

export interface WalRecord {
  id: string;
  type: WalType;
  repo: string;
  at: string;
  contributor: Contributor;
  [field: string]: unknown;
}

/** Writes one create-only WAL record; ULID keys order the log. Returns the record. */
export async function appendWal(
  storage: Storage, type: WalType, repo: string, contributor: Contributor, fields: Record<string, unknown>,
): Promise<WalRecord> {
  const record: WalRecord = { id: newId(), type, repo, at: new Date().toISOString(), contributor, ...fields };
  await putJson(storage, keys.wal(repo, record.id), record, { ifAbsent: true });
  return record;
}
