/**
 * The read log: who read what, when, and how much; create-only objects under `readlog/<repo>/<day>/`. A read
 * writes two: a start record when it begins and an end record when it ends (completed, interrupted, failed),
 * sharing the read's id; so a read that never ends (a killed process, a second Ctrl-C) is still in the log.
 * Logs written before reads had two records hold one record per read, written at its end; they stay readable.
 */
import { isDatamoverError } from '../errors.js';
import type { Reporter } from '../events.js';
import type { Storage } from '../storage/storage.js';
import { type Contributor, type Principal, keys } from '../vocab.js';
import { appendChained } from './chain.js';
import { newId } from './ids.js';
import { listRecords } from './records.js';

/** How a read ended; `unfinished`: a start record with no end record (the process died mid-read). */
export type ReadOutcome = 'completed' | 'interrupted' | 'failed' | 'unfinished';

export interface ReadRecord {
  id: string;
  type: 'bundle.download' | 'bundle.files' | 'bundle.verify' | 'bundle.update' | 'bundle.diff' | 'bundle.cat'
    | 'bundle.mount' | 'bundle.serve' | 'bundle.read';
  repo: string;
  bundle: string;
  at: string;
  contributor: Contributor;
  /** Who the store's credentials are (Storage.identity); absent in records written before principals. */
  principal?: Principal;
  /** What the read got: for an unfinished or interrupted read, what it got before it stopped (0 when unknown). */
  files: number;
  bytes: number;
  /** The subset read, when not the whole bundle: the globs given, or a note such as `changed since <id>`. */
  filter?: { include?: string[]; exclude?: string[]; note?: string };
  /** Absent on a single record of an older log (a completed read, or one marked `interrupted`). */
  outcome?: ReadOutcome;
  /** The read's id: its start record's id, shared by its end record. */
  read?: string;
  /** Which of a read's two records this is (absent on the single record of an older log, and in `listReads`). */
  phase?: 'start' | 'end';
  /** When the read began (end records and the reads `listReads` yields). */
  started?: string;
  /** Why a failed read failed (one line). */
  error?: string;
  /** The run (a `run` step, a CI job) the read was done for: reads and writes of one run join on it. */
  run?: string;
  /** Reads in place by a server: the client's address. */
  client?: string;
}

/** What a read is: the fields its start and end records share. */
export type ReadFields = Omit<ReadRecord, 'id' | 'at' | 'files' | 'bytes' | 'outcome' | 'read' | 'phase' | 'started' | 'error' | 'principal'>;

/** What a read got by its end. */
export interface ReadCounts { files: number; bytes: number }

/**
 * One read being recorded. A store that refuses the writes (read-only, no permission to write) must not turn a
 * read into a failure: a start record that cannot be written is let go (the end record is complete on its
 * own), and an end record of a completed read that cannot be written is reported as one `readlog.unwritten`
 * event (a warning). Only an interrupt is passed on.
 */
export class ReadLogEntry {
  private ended = false;

  private constructor(
    private readonly storage: Storage, private readonly fields: ReadFields, private readonly report: Reporter,
    readonly id: string, private readonly started: string,
  ) {}

  /** Writes the start record of a read of `fields.bundle` and returns the entry that ends it. */
  static async begin(storage: Storage, fields: ReadFields, report: Reporter): Promise<ReadLogEntry> {
    const id = newId();
    const at = new Date().toISOString();
    const entry = new ReadLogEntry(storage, fields, report, id, at);
    try {
      await putRecord(storage, { id, at, ...fields, files: 0, bytes: 0, read: id, phase: 'start' });
    } catch (err) {
      if (isDatamoverError(err, 'INTERRUPTED')) throw err;
    }
    return entry;
  }

  /**
   * Writes the end record (once: later calls do nothing). `counts` are what the read got; `filter` replaces the
   * start's when given; `error` says why a failed read failed.
   */
  async end(outcome: Exclude<ReadOutcome, 'unfinished'>, counts: ReadCounts, error?: unknown): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const record: ReadRecord = {
      id: newId(), at: new Date().toISOString(), ...this.fields, ...counts, outcome, read: this.id, phase: 'end', started: this.started,
      ...(error === undefined ? {} : { error: (error instanceof Error ? error.message : String(error)).split('\n')[0] }),
    };
    try {
      await putRecord(this.storage, record);
    } catch (err) {
      if (isDatamoverError(err, 'INTERRUPTED')) throw err;
      if (outcome !== 'completed') return; // the read's own failure is what its caller hears of
      const { repo, bundle, type } = this.fields;
      this.report({ type: 'readlog.unwritten', repo, bundle, read: type, error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** Create-only, keyed by day then ULID, naming the store's principal; chained (chain.ts). */
async function putRecord(storage: Storage, record: ReadRecord): Promise<void> {
  const key = keys.readlog(record.repo, record.at.slice(0, 10), record.id);
  await appendChained(storage, 'readlog', record.repo, key, { ...record, principal: await storage.identity(key) });
}

/** The raw read-log records of one repo or all, oldest first, after `afterId` when given: starts and ends apart. */
export function listReadLog(storage: Storage, opts: { repo?: string; afterId?: string } = {}): AsyncGenerator<ReadRecord> {
  return listRecords<ReadRecord>(storage, 'readlog/', opts);
}

/**
 * The reads of one repo or all, one per read, after `afterId` when given: each ended read when its end record
 * comes (in the order reads ended; the end record holds everything, `started` included), then each read that
 * started and has no end as `unfinished`. A single record of an older log is a read of its own. Holds in
 * memory only the reads not yet ended.
 */
export async function* listReads(storage: Storage, opts: { repo?: string; afterId?: string } = {}): AsyncGenerator<ReadRecord> {
  const open = new Map<string, ReadRecord>();
  for await (const record of listReadLog(storage, opts)) {
    const { phase, ...read } = record;
    if (phase === 'start') {
      open.set(record.read ?? record.id, { ...read, started: record.at });
      continue;
    }
    if (record.read !== undefined) open.delete(record.read);
    yield read;
  }
  for (const read of open.values()) yield { ...read, outcome: 'unfinished' };
}
