/**
 * Setting times to what a manifest records. With the optional native helper `datamover-utimens` (native/utimens:
 * futimens and utimensat, built by npm install) times are set to the nanosecond. Without it, Node's utimes
 * family is used: it takes seconds as a double and libuv truncates them to the microsecond, so that is the
 * precision then; the double passed is placed half a microsecond beyond the target, so the truncation lands on it
 * exactly (a bare `ns / 1e9` is often one microsecond short), and negative times (before 1970) go as strings,
 * since Node replaces a negative number with "now". A file system may keep less (mtime-match.ts finds out).
 */
import { futimesSync, lutimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fsPath } from '../engine/fs-path.js';

/** The optional native helper. */
export const NS_TIMES_PACKAGE = 'datamover-utimens';

interface NsTimes {
  futimens(fd: number, ns: bigint): void;
  /** Never follows a final symlink. */
  lutimens(path: string, ns: bigint): void;
}

const native: NsTimes | undefined = (() => {
  try {
    return createRequire(import.meta.url)(NS_TIMES_PACKAGE) as NsTimes;
  } catch {
    return undefined;
  }
})();

/** The finest step the setters here can set, in nanoseconds. */
export const SET_PRECISION_NS = native ? 1n : 1000n;

/** `ns` truncated (toward minus infinity) to what the setters can set. */
export function settableNs(ns: bigint): bigint {
  const q = SET_PRECISION_NS;
  const r = ns % q;
  return r < 0n ? ns - r - q : ns - r;
}

/** The seconds argument for Node's utimes family that sets `ns` truncated to the microsecond, exactly. */
export function utimeArg(ns: bigint): string {
  const micros = settableNs(ns) / 1000n;
  // libuv truncates toward zero on both sides of the point: aim half a microsecond away from zero.
  return String((Number(micros) + (micros < 0n ? -0.5 : 0.5)) / 1e6);
}

/**
 * Whether the native helper can take `ns`: nanoseconds since the epoch fit int64 only between 1677 and 2262, while
 * file systems keep times far beyond (ext4 to 2446, xfs further); outside, Node's seconds are used.
 */
function inInt64(ns: bigint): boolean {
  return ns >= -(2n ** 63n) && ns < 2n ** 63n;
}

/** Sets atime and mtime of an open file. */
export function setFdTimes(fd: number, ns: bigint): void {
  if (native && inInt64(ns)) return native.futimens(fd, ns);
  const t = utimeArg(ns);
  futimesSync(fd, t, t);
}

/** Sets atime and mtime of `abs` itself, never through a final symlink (a link gets its own times). */
export function setLinkTimes(abs: string, ns: bigint): void {
  const p = fsPath(abs);
  if (native && typeof p === 'string' && inInt64(ns)) return native.lutimens(p, ns); // UTF-8 paths only
  const t = utimeArg(ns);
  lutimesSync(p, t, t);
}
