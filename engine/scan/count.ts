/**
 * Counts the files and bytes of a tree ahead of an upload, so that its progress has a total and an ETA (as
 * restic's Scanner does beside its archiver). Stat-only and asynchronous (the calls run on libuv's threads, not
 * the event loop the upload needs), run beside the upload and never failing it: what cannot be listed is left
 * out of the count, which is an estimate; the upload's own walk is the truth.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import type { Reporter } from '../events.js';
import { fsPath, nameFromBytes } from '../fs-path.js';

/** lstat calls in flight per directory: enough to keep libuv's four threads busy, few enough to yield to the upload. */
const STATS_IN_FLIGHT = 16;

export interface CountOptions {
  /** The upload walk's own filter (WalkHooks.keep, --files and --exclude): a refused directory is not entered. */
  keep?: (path: string) => boolean;
  /** Counts only the files whose manifest path it keeps (a shard's files). */
  select?: (path: string) => boolean;
  /** Stops the count (no event is emitted): the upload is over before the count. */
  signal: AbortSignal;
}

/**
 * Counts the regular files under `root` and their bytes, then emits one `scan.done` event with the totals.
 * Never throws; emits nothing when stopped first.
 */
export async function countTree(root: string, report: Reporter, opts: CountOptions): Promise<void> {
  const totals = { files: 0, bytes: 0 };
  const dirs: { abs: string; rel: string }[] = [{ abs: path.resolve(root), rel: '' }];
  try {
    while (dirs.length && !opts.signal.aborted) {
      const dir = dirs.pop()!;
      const names = await fsp.readdir(fsPath(dir.abs), { encoding: 'buffer', withFileTypes: true }).catch(() => []);
      const files: { abs: string; rel: string }[] = [];
      for (const dirent of names) {
        const name = nameFromBytes(dirent.name);
        const child = { abs: path.join(dir.abs, name), rel: dir.rel ? `${dir.rel}/${name}` : name };
        if (opts.keep && !opts.keep(child.rel)) continue;
        if (dirent.isDirectory()) dirs.push(child);
        else if (dirent.isFile() && (!opts.select || opts.select(child.rel))) files.push(child);
      }
      for (let i = 0; i < files.length && !opts.signal.aborted; i += STATS_IN_FLIGHT) {
        const sizes = await Promise.all(files.slice(i, i + STATS_IN_FLIGHT).map((f) => fsp.lstat(fsPath(f.abs)).then((s) => (s.isFile() ? s.size : undefined), () => undefined)));
        for (const size of sizes) {
          if (size === undefined) continue;
          totals.files++;
          totals.bytes += size;
        }
      }
    }
  } catch {
    return; // an estimate only: the upload reports what it could not read
  }
  if (!opts.signal.aborted) report({ type: 'scan.done', ...totals });
}
