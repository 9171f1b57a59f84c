/**
 * Which entries of a source tree an upload takes: the paths of a list (`--files`), minus what exclude globs
 * match (`--exclude`, `--exclude-from`). The walk asks `keep` of each name before it lstats it, so an excluded
 * or unlisted directory is never entered. Lists and pattern files are read as bytes: names that are not UTF-8
 * keep their bytes (the string form of fs-path.ts), exactly as the walk spells them.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { InputError, badInput, errnoCode } from '../errors.js';
import { displayName, fsPath, nameFromBytes } from '../fs-path.js';
import { globSelector } from '../download/select.js';

/** What an upload takes from its source (both absent: everything). */
export interface SourceSelection {
  /**
   * Paths relative to the source (string form of fs-path.ts). A listed directory is taken whole; the
   * directories above a listed path are taken too (as directories, not their other entries). Absent: all.
   */
  files?: readonly string[];
  /** Globs as for a download's `--exclude`: a match is left out with everything under it. */
  exclude?: readonly string[];
}

/**
 * The paths of a list: separated by NUL when the list holds one (`find -print0`), else by newlines; empty
 * items are ignored. Each path keeps its bytes (a name that is not UTF-8 is not mangled).
 */
export function parseFileList(bytes: Uint8Array): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sep = buf.includes(0) ? 0 : 0x0a;
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= buf.length; i++) {
    if (i < buf.length && buf[i] !== sep) continue;
    if (i > start) out.push(nameFromBytes(buf.subarray(start, i)));
    start = i + 1;
  }
  return out;
}

/** The patterns of an exclude file: one a line, surrounding blanks trimmed; blank lines and `#` comments ignored. */
export function parsePatternLines(bytes: Uint8Array): string[] {
  return parseFileList(Buffer.from(bytes).filter((b) => b !== 0)) // a NUL has no place in a pattern
    .map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
}

/**
 * A listed path as the walk spells it: `./`, `.` components, repeated and trailing slashes dropped ('' is the
 * whole tree). USAGE (an InputError of field `files`) for an absolute path or one with a `..` component.
 */
export function normalizeListed(raw: string): string {
  if (raw.startsWith('/') || raw.split('/').includes('..')) {
    throw new InputError('files', JSON.stringify(displayName(raw)), 'expected a path inside the directory (no .., not absolute)');
  }
  return raw.split('/').filter((c) => c && c !== '.').join('/');
}

/** The walk's filter for one selection, and what it saw of the list. */
export class SourceFilter {
  private readonly listed: Set<string> | undefined;
  private readonly above = new Set<string>();
  private readonly seen = new Set<string>();
  private readonly excluded: ((p: string) => boolean) | undefined;

  /** USAGE for a listed path that escapes the source or a malformed pattern (see normalizeListed, globSelector). */
  constructor(selection: SourceSelection) {
    if (selection.exclude?.length) {
      const glob = globSelector([], selection.exclude);
      this.excluded = (p) => !glob.matches(p);
    }
    if (!selection.files) return;
    const listed = new Set(selection.files.map(normalizeListed));
    this.listed = listed.has('') ? undefined : listed;
    for (const p of this.listed ?? []) {
      for (let cut = p.indexOf('/'); cut > 0; cut = p.indexOf('/', cut + 1)) this.above.add(p.slice(0, cut));
    }
  }

  /** Whether the walk takes `p` (and, for a directory, looks inside it). */
  keep = (p: string): boolean => {
    if (this.excluded?.(p)) return false;
    if (!this.listed) return true;
    if (this.listed.has(p)) {
      this.seen.add(p);
      return true;
    }
    if (this.above.has(p)) return true;
    for (let cut = p.lastIndexOf('/'); cut > 0; cut = p.lastIndexOf('/', cut - 1)) if (this.listed.has(p.slice(0, cut))) return true;
    return false;
  };

  /**
   * Checks every listed path before anything is read or written: it must exist below `root`, reached through
   * real directories only (a listed path under a symlink would be outside the tree the walk sees). USAGE
   * (field `files`) naming the first that does not.
   */
  checkListed(root: string): void {
    if (!this.listed) return;
    const kinds = new Map<string, string>();
    const kindOf = (rel: string): string => {
      let kind = kinds.get(rel);
      if (kind === undefined) {
        try {
          const st = lstatSync(fsPath(path.join(root, rel)));
          kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'a symlink' : 'not a directory';
        } catch (err) {
          if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw badInput(`${displayName(path.join(root, rel))}: ${(err as Error).message}`, err);
          kind = 'missing';
        }
        kinds.set(rel, kind);
      }
      return kind;
    };
    for (const p of [...this.listed].sort()) {
      const parts = p.split('/');
      for (let n = 1; n < parts.length; n++) {
        const dir = parts.slice(0, n).join('/');
        const kind = kindOf(dir);
        if (kind === 'missing') throw new InputError('files', JSON.stringify(displayName(p)), `no such file or directory in ${root}`);
        if (kind !== 'dir') throw new InputError('files', JSON.stringify(displayName(p)), `${displayName(dir)} is ${kind}`);
      }
      if (kindOf(p) === 'missing') throw new InputError('files', JSON.stringify(displayName(p)), `no such file or directory in ${root}`);
    }
  }

  /** After the walk: BAD_INPUT naming a listed path that was not there any more (removed while the upload ran). */
  checkAllSeen(root: string): void {
    for (const p of this.listed ?? []) {
      if (!this.seen.has(p) && !this.excluded?.(p)) throw badInput(`${displayName(path.join(root, p))} is listed (--files) but vanished during the upload`);
    }
  }
}
