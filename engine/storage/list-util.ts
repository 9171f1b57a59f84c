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

/** Key order (byte order of UTF-16 code units, as every backend lists). */
export function byKey(a: { key: string }, b: { key: string }): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/**
 * One page of a cloud listing as entries in key order: objects and common prefixes come back as two lists,
 * each sorted, and are merged here. `strip` turns a full object name into a store key.
 */
export function pageEntries(
  objects: readonly { name: string; size: number }[], prefixes: readonly string[], strip: (name: string) => string,
): ListEntry[] {
  return [
    ...objects.map((o) => ({ key: strip(o.name), size: o.size })),
    ...prefixes.map((p) => ({ key: strip(p), isPrefix: true })),
  ].sort(byKey);
}
