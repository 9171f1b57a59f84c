/**
 * fsck's check of the WAL's and the read log's hash chains (meta/chain-verify.ts): each broken link is a
 * problem naming the record; what cannot be proven (records written before chaining, unjoined tips) is a note.
 */
import type { ChainLog } from '../meta/chain.js';
import { verifyChain } from '../meta/chain-verify.js';
import { childNames } from '../storage/storage.js';
import type { FsckRun } from './fsck.js';

const NAMES: Record<ChainLog, string> = { wal: 'WAL', readlog: 'read log' };

/** Verifies the chain of every repo's WAL and read log (signatures are left to `log --verify --public-key`). */
export async function checkChains(run: FsckRun): Promise<void> {
  for (const log of ['wal', 'readlog'] as const) {
    for (const repo of (await childNames(run.storage, `${log}/`)).sort()) {
      const report = await verifyChain(run.storage, log, repo);
      for (const p of report.problems) run.problem(`${NAMES[log]} chain of ${repo}`, `${p.key}: ${p.detail}`);
      for (const n of report.notes) run.note(`${NAMES[log]} chain of ${repo}`, `${n.key}: ${n.detail}`);
      if (report.unchainedUpTo) run.note(`${NAMES[log]} chain of ${repo}`, `unchained up to ${report.unchainedUpTo} (written before records were chained: nothing proves them unchanged)`);
    }
  }
}
