/**
 * Reporting (and, for directories, setting) extended attributes and ACLs in a restore. Files get theirs in the
 * write workers, before the rename. What the destination refuses, or what cannot be set because the optional
 * package is missing, is reported as `xattr.warning` events (the first MAX_REPORTED paths, then a count); the
 * data is complete, so the download still succeeds (exit 0) and its summary counts the warnings.
 */
import type { Reporter } from '../events.js';
import type { FileEntry } from '../vocab.js';
import { XATTR_PACKAGE, writeXattrs, xattrIo } from '../../workers/xattr-io.js';

const MAX_REPORTED = 20;

export class XattrRestore {
  /** Entries whose attributes were not (all) restored. */
  count = 0;
  private missingReported = false;

  constructor(private readonly report: Reporter) {}

  /** Notes an entry about to be restored; reports once when it has attributes and the package is missing. */
  note(entry: FileEntry): void {
    if (!entry.xattrs || xattrIo()) return;
    this.count++;
    if (this.missingReported) return;
    this.missingReported = true;
    this.report({ type: 'xattr.warning', path: '', reason: `extended attributes and ACLs are not restored: the optional package ${XATTR_PACKAGE} is not installed` });
  }

  /** Sets a directory's attributes (never through a symlink: lsetxattr). */
  setDir(abs: string, entry: FileEntry): void {
    const io = entry.xattrs && xattrIo();
    if (!io) return;
    const failures = writeXattrs(io, abs, entry.xattrs!);
    if (failures.length) this.problem(entry.path, `not restored: ${failures.map((f) => `${f.name} (${f.code})`).join(', ')}`);
  }

  problem(path: string, reason: string): void {
    if (++this.count <= MAX_REPORTED) this.report({ type: 'xattr.warning', path, reason: `extended attributes ${reason}` });
  }

  /** Reports how many were left unreported. */
  finish(): void {
    if (this.count > MAX_REPORTED && xattrIo()) {
      this.report({ type: 'xattr.warning', path: '', reason: `extended attributes not restored on ${this.count} entries in all` });
    }
  }
}
