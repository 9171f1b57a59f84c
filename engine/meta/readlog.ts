import type { Storage } from '../storage/storage.js';
import { type Contributor, keys } from '../vocab.js';
import { newId } from './ids.js';
import { putJson } from './objects.js';

export interface ReadRecord {
  id: string;
  type: 'bundle.download' | 'bundle.files';
  repo: string;
  bundle: string;
  at: string;
  contributor: Contributor;
  files: number;
  bytes: number;
}

/** Records a read of a bundle: who, what, when, how much. Create-only, keyed by day then ULID. */
export async function appendReadLog(storage: Storage, fields: Omit<ReadRecord, 'id' | 'at'>): Promise<ReadRecord> {
  const at = new Date();
  const record: ReadRecord = { id: newId(), at: at.toISOString(), ...fields };
  await putJson(storage, keys.readlog(fields.repo, at.toISOString().slice(0, 10), record.id), record, { ifAbsent: true });
  return record;
}
