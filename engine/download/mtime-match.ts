/**
 * Whether a file already in the destination has the mtime a manifest entry records, at the precision the
 * destination really keeps: what the restore can set (set-times.ts: the microsecond), coarsened to what the file
 * system stores. That is learnt once per download from a probe file in the destination: a time with
 * nanoseconds is set and read back. A rerun then finds the files it restored complete, and rewrites nothing.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, lstatSync, openSync, rmSync, constants } from 'node:fs';
import path from 'node:path';
import { setFdTimes, settableNs } from '../../workers/set-times.js';

/** Compares a destination file's mtime (ns) with the manifest's (ns). */
export type MtimeMatch = (actualNs: bigint, recordedNs: bigint) => boolean;

const PROBE_NS = 1_700_000_000_123_456_789n;
/** Steps a file system may keep times in, finest first (ns, µs, ms, s, FAT's 2 s). */
const STEPS = [1n, 1000n, 1_000_000n, 1_000_000_000n, 2_000_000_000n];

/** Learns the destination's time precision; falls back to whole seconds if the probe cannot tell. */
export function mtimeMatcher(root: string): MtimeMatch {
  const step = probeStep(root);
  if (step === undefined) return (actual, recorded) => floorTo(actual, 1_000_000_000n) === floorTo(recorded, 1_000_000_000n);
  return (actual, recorded) => actual === floorTo(settableNs(recorded), step);
}

function probeStep(root: string): bigint | undefined {
  const probe = path.join(root, `.dm-time-probe-${randomBytes(6).toString('hex')}`);
  try {
    const fd = openSync(probe, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    try {
      setFdTimes(fd, PROBE_NS);
    } finally {
      closeSync(fd);
    }
    const kept = lstatSync(probe, { bigint: true }).mtimeNs;
    return STEPS.find((step) => kept === floorTo(settableNs(PROBE_NS), step));
  } catch {
    return undefined;
  } finally {
    rmSync(probe, { force: true });
  }
}

function floorTo(ns: bigint, step: bigint): bigint {
  const r = ns % step;
  return r < 0n ? ns - r - step : ns - r;
}
