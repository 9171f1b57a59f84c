/**
 * Hard-link groups: files of the walk that share a device and inode get the same `linkGroup`, the manifest path
 * of the first of them in walk order (which is manifest order), so every process of a split upload, each
 * walking the whole tree, names a group alike. Only files with more than one link are remembered.
 */
import type { ScanEntry } from './walk.js';

/** Passes the walk through, tagging the members of each hard-link group. */
export async function* withLinkGroups(walk: AsyncIterable<ScanEntry>): AsyncGenerator<ScanEntry> {
  const groups = new Map<string, string>();
  for await (const entry of walk) {
    if (entry.type !== 'file' || entry.nlink < 2) {
      yield entry;
      continue;
    }
    let group = groups.get(entry.devIno);
    if (group === undefined) {
      group = entry.path;
      groups.set(entry.devIno, group);
    }
    yield { ...entry, linkGroup: group };
  }
}
