/**
 * Temp names of a restore: `.<name cut to fit>.dm-tmp-<pid>-<random>-<count>` beside the target. The fixed marker
 * and shape make them recognisable, so a rerun removes those a killed run left (never a live run's: the pid must
 * be gone, never a user's file: only names of exactly this shape, and only files and links). Names are cut by
 * bytes, so a temp name never exceeds NAME_MAX (255 bytes) whatever the target's name.
 */
import { randomBytes } from 'node:crypto';
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { cutToBytes, fsPath, nameFromBytes } from '../fs-path.js';

/** Linux's NAME_MAX: the most bytes one name may hold. */
export const NAME_MAX = 255;

const MARKER = '.dm-tmp-';
/** Random per process, then counted: unique without a random draw per file. */
const run = { pid: process.pid.toString(36), random: randomBytes(4).toString('hex') };
let count = 0;
const SHAPE = /^\.[^]*\.dm-tmp-([0-9a-z]{1,8})-([0-9a-f]{8})-[0-9a-z]{1,11}$/;
/** Bytes kept of the target's name: the rest of the longest temp name ('.' + marker + fields) must fit too. */
const KEPT_BYTES = NAME_MAX - 1 - MARKER.length - 8 - 1 - 8 - 1 - 11;

/** A fresh temp name beside `abs` (string form; pass through fsPath), unique within and across processes. */
export function tempNameFor(abs: string): string {
  const base = cutToBytes(path.basename(abs), KEPT_BYTES);
  return path.join(path.dirname(abs), `.${base}${MARKER}${run.pid}-${run.random}-${(count++).toString(36)}`);
}

/**
 * Whether `name` is a temp name of a restore that no longer runs: our shape, and its process is gone (or it is
 * an earlier process that had this pid). A temp name of this process, or of a live one, is never stale.
 */
export function isStaleTempName(name: string): boolean {
  const m = SHAPE.exec(name);
  if (!m) return false;
  const [, pid36, random] = m;
  if (pid36 === run.pid) return random !== run.random;
  try {
    process.kill(parseInt(pid36!, 36), 0);
    return false; // alive (or not ours to signal: EPERM): a concurrent restore's temp file
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the stale temp names in directory `dirAbs` (files and links only; a directory of that name is left
 * alone). Returns how many. A directory that cannot be listed is left to the writes that follow to report.
 */
export function removeStaleTemps(dirAbs: string): number {
  let names: Buffer[];
  try {
    names = readdirSync(fsPath(dirAbs), { encoding: 'buffer' });
  } catch {
    return 0;
  }
  let removed = 0;
  for (const raw of names) {
    if (raw[0] !== 0x2e || !raw.includes(MARKER)) continue;
    const name = nameFromBytes(raw);
    if (!isStaleTempName(name)) continue;
    const abs = fsPath(path.join(dirAbs, name));
    try {
      if (lstatSync(abs).isDirectory()) continue;
      rmSync(abs, { force: true });
      removed++;
    } catch {
      // Gone already, or not ours to remove: nothing to do.
    }
  }
  return removed;
}
