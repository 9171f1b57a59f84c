/**
 * Setting times to what a manifest records. Node's utimes family takes seconds as a double and libuv truncates
 * them to the microsecond, so that is the precision restored here (a file system may keep less): the double
 * passed is placed half a microsecond beyond the target, so the truncation lands on it exactly (a bare
 * `ns / 1e9` is often one microsecond short). Negative times (before 1970) go as strings: Node replaces a
 * negative number with "now".
 */
import { futimesSync, lutimesSync, utimesSync } from 'node:fs';

/** The finest step the setters here can set, in nanoseconds. */
export const SET_PRECISION_NS = 1000n;

/** `ns` truncated (toward minus infinity) to what the setters can set. */
export function settableNs(ns: bigint): bigint {
  const q = SET_PRECISION_NS;
  const r = ns % q;
  return r < 0n ? ns - r - q : ns - r;
}

/** The seconds argument for Node's utimes family that sets `ns` truncated to the microsecond, exactly. */
export function utimeArg(ns: bigint): string {
  const micros = settableNs(ns) / SET_PRECISION_NS;
  // libuv truncates toward zero on both sides of the point: aim half a microsecond away from zero.
  const seconds = (Number(micros) + (micros < 0n ? -0.5 : 0.5)) / 1e6;
  return String(seconds);
}

/** Sets atime and mtime of an open file. */
export function setFdTimes(fd: number, ns: bigint): void {
  const t = utimeArg(ns);
  futimesSync(fd, t, t);
}

/** Sets atime and mtime of `abs` itself: a symlink's own times when `abs` is one (never followed). */
export function setLinkTimes(abs: string, ns: bigint): void {
  const t = utimeArg(ns);
  lutimesSync(abs, t, t);
}

/** Sets atime and mtime of `abs`, following a final symlink (callers check it is none). */
export function setPathTimes(abs: string, ns: bigint): void {
  const t = utimeArg(ns);
  utimesSync(abs, t, t);
}
