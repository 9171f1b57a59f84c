/**
 * The write-ahead log: one create-only object per change, keyed by ULID under `wal/<repo>/`, so a listing is the
 * log in time order. Records are written before the change they describe takes effect.
 */
import type { Storage } from '../storage/storage.js';
import { type Contributor, type Principal, keys } from '../vocab.js';
import { appendChained } from './chain.js';
import { newId } from './ids.js';
import { readJson } from './objects.js';
import { listRecords } from './records.js';
import { walRecord } from './validate.js';

export type WalType = 'repo.create' | 'bundle.commit' | 'label.set' | 'label.delete' | 'session.start' | 'session.commit'
  | 'bundle.forget' | 'bundle.rewrite' | 'repo.delete';

export interface WalRecord {
  id: string;
  type: WalType;
  repo: string;
  at: string;
  contributor: Contributor;
  /** Who the store's credentials are (Storage.identity); absent in records written before principals. */
  principal?: Principal;
  [field: string]: unknown;
}

/** Writes one create-only WAL record, naming the store's principal, chained (chain.ts); ULID keys order the log. Returns the record as stored. */
export async function appendWal(
  storage: Storage, type: WalType, repo: string, contributor: Contributor, fields: Record<string, unknown>,
): Promise<WalRecord> {
  const id = newId();
  const principal = await storage.identity(keys.wal(repo, id));
  const record: WalRecord = { id, type, repo, at: new Date().toISOString(), contributor, principal, ...fields };
  return appendChained(storage, 'wal', repo, keys.wal(repo, record.id), record);
}

/** The record, validated; undefined when absent, INTEGRITY naming it when damaged. */
export function readWal(storage: Storage, repo: string, id: string): Promise<WalRecord | undefined> {
  return readJson(storage, keys.wal(repo, id), walRecord({ repo, id }));
}

/** WAL records of one repo (or every repo), oldest first, optionally only those after `afterId`. */
export function listWal(storage: Storage, opts: { repo?: string; afterId?: string } = {}): AsyncGenerator<WalRecord> {
  return listRecords(storage, 'wal/', opts, (repo, id) => walRecord({ repo, id }));
}
