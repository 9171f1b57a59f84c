/** The read log: who read what, when, and how much; one create-only object per read, under `readlog/<repo>/<day>/`. */
import { isDatamoverError } from '../errors.js';
import type { Reporter } from '../events.js';
import type { Storage } from '../storage/storage.js';
import { type Contributor, keys } from '../vocab.js';
import { newId } from './ids.js';
import { putJson } from './objects.js';
import { listRecords } from './records.js';

export interface ReadRecord {
  id: string;
  type: 'bundle.download' | 'bundle.files' | 'bundle.verify' | 'bundle.update' | 'bundle.diff'
    | 'bundle.mount' | 'bundle.serve' | 'bundle.read';
  repo: string;
  bundle: string;
  at: string;
  contributor: Contributor;
  files: number;
  bytes: number;
  /** The subset read, when not the whole bundle: the globs given, or a note such as `changed since <id>`. */
  filter?: { include?: string[]; exclude?: string[]; note?: string };
  /** Set when the read did not finish: `files` and `bytes` are what it got before it was interrupted. */
  outcome?: 'interrupted';
  /** Reads in place by a server: the client's address. */
  client?: string;
}

/** Records a read of a bundle. Create-only, keyed by day then ULID. */
export async function appendReadLog(storage: Storage, fields: Omit<ReadRecord, 'id' | 'at'>): Promise<ReadRecord> {
  const at = new Date();
  const record: ReadRecord = { id: newId(), at: at.toISOString(), ...fields };
  await putJson(storage, keys.readlog(fields.repo, at.toISOString().slice(0, 10), record.id), record, { ifAbsent: true });
  return record;
}

/**
 * Records a read whose work is done. A store that refuses the write (read-only, no permission to write) must
 * not turn a finished read into a failure: the read is reported as unlogged (one `readlog.unwritten` event,
 * a warning) and the call returns. Only an interrupt is passed on.
 */
export async function logRead(storage: Storage, fields: Omit<ReadRecord, 'id' | 'at'>, report: Reporter): Promise<void> {
  try {
    await appendReadLog(storage, fields);
  } catch (err) {
    if (isDatamoverError(err, 'INTERRUPTED')) throw err;
    report({ type: 'readlog.unwritten', repo: fields.repo, bundle: fields.bundle, read: fields.type, error: err instanceof Error ? err.message : String(err) });
  }
}

/** Read-log records of one repo or all, oldest first, after `afterId` when given. */
export function listReadLog(storage: Storage, opts: { repo?: string; afterId?: string } = {}): AsyncGenerator<ReadRecord> {
  return listRecords<ReadRecord>(storage, 'readlog/', opts);
}
