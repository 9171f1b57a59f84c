/**
 * The difference between two bundles, from their manifests only (no pack is read): a merge of two path-ordered
 * entry streams, one page of each in memory at a time.
 */
import type { Storage } from '../storage/storage.js';
import type { BundleDescriptor, FileEntry } from '../vocab.js';
import { comparePaths } from '../vocab.js';
import { sameMtime } from '../times.js';
import { readEntries } from './manifest.js';

export type Change =
  | { kind: 'added'; entry: FileEntry }
  | { kind: 'removed'; entry: FileEntry }
  /** `content`: the bytes (or link target, type, hard-link group or extended attributes) differ; otherwise only mode or mtime. */
  | { kind: 'changed'; entry: FileEntry; before: FileEntry; content: boolean };

export async function* diffBundles(storage: Storage, a: BundleDescriptor, b: BundleDescriptor): AsyncGenerator<Change> {
  const left = readEntries(storage, a.pages);
  const right = readEntries(storage, b.pages);
  let x = await left.next();
  let y = await right.next();
  while (!x.done || !y.done) {
    const order = x.done ? 1 : y.done ? -1 : comparePaths(x.value.path, y.value.path);
    if (order < 0) {
      yield { kind: 'removed', entry: x.value! };
      x = await left.next();
    } else if (order > 0) {
      yield { kind: 'added', entry: y.value! };
      y = await right.next();
    } else {
      const change = compare(x.value!, y.value!);
      if (change) yield change;
      x = await left.next();
      y = await right.next();
    }
  }
}

function compare(before: FileEntry, entry: FileEntry): Change | undefined {
  const content = before.type !== entry.type || before.size !== entry.size || before.target !== entry.target
    || before.hardlink !== entry.hardlink || JSON.stringify(before.xattrs ?? {}) !== JSON.stringify(entry.xattrs ?? {})
    || JSON.stringify(before.chunks ?? []) !== JSON.stringify(entry.chunks ?? []);
  const meta = before.mode !== entry.mode || (entry.type !== 'dir' && !sameMtime(before, entry));
  return content || meta ? { kind: 'changed', entry, before, content } : undefined;
}
