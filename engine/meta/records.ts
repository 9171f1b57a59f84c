/**
 * Reading time-ordered record logs (WAL, read log): objects named `<ULID>.json` under `<root><repo>/...`.
 * ULIDs sort by time, so a listing in key order is the log in time order within a repo; repos are merged.
 */
import type { Storage } from '../storage/storage.js';
import { type Validator, readJson } from './objects.js';

const READ_AHEAD = 16;

/**
 * The records under `root` for one repo or all, oldest first across repos, skipping ids ≤ `afterId`.
 * Reads up to 16 records at a time; holds the key list of the log (not the records) in memory. A damaged
 * record fails with INTEGRITY naming it (`validate`, given the repo and id its key names).
 */
export async function* listRecords<T extends { id: string }>(
  storage: Storage, root: string, opts: { repo?: string; afterId?: string }, validate?: (repo: string, id: string) => Validator<T>,
): AsyncGenerator<T> {
  const repos: string[] = [];
  if (opts.repo) repos.push(opts.repo);
  else for await (const e of storage.list(root, { delimiter: '/' })) if (e.isPrefix) repos.push(e.key.slice(root.length, -1));
  const found: { id: string; key: string; repo: string }[] = [];
  for (const repo of repos) {
    for await (const e of storage.list(`${root}${repo}/`)) {
      const id = /([0-9A-HJKMNP-TV-Z]{26})\.json$/.exec(e.key)?.[1];
      if (id && (!opts.afterId || id > opts.afterId)) found.push({ id, key: e.key, repo });
    }
  }
  found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 0; i < found.length; i += READ_AHEAD) {
    const batch = await Promise.all(found.slice(i, i + READ_AHEAD).map((f) => readJson<T>(storage, f.key, validate?.(f.repo, f.id))));
    for (const r of batch) if (r) yield r;
  }
}
