import type { ListEntry } from './storage.js';

/**
 * Folds sorted keys under `prefix` into list entries: with a delimiter, keys that continue past it after the
 * prefix collapse into one `isPrefix` entry (S3 semantics).
 */
export function* foldListing(
  sortedKeys: Iterable<{ key: string; size: number }>,
  prefix: string,
  delimiter?: string,
): Generator<ListEntry> {
  let lastPrefix: string | undefined;
  for (const { key, size } of sortedKeys) {
    if (!key.startsWith(prefix)) continue;
    const cut = delimiter ? key.indexOf(delimiter, prefix.length) : -1;
    if (cut < 0) {
      yield { key, size };
      continue;
    }
    const common = key.slice(0, cut + delimiter!.length);
    if (common !== lastPrefix) {
      lastPrefix = common;
      yield { key: common, isPrefix: true };
    }
  }
}
