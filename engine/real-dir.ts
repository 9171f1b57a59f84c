/**
 * Directories made and checked without following links, for every writer that must not write through one: the
 * download's destination (download/safe-paths.ts) and the local store (storage/local-dirs.ts). A value, not an
 * exception: each caller words the refusal for its own objects.
 */
import { promises as fsp } from 'node:fs';
import { errnoCode } from './errors.js';

/** What stood at a path: made now, a real directory already there, or something that is not one. */
export type RealDirState = 'made' | 'existed' | 'a symlink' | 'not a directory';

/** Creates directory `p` (its parent must exist), or says what is there. Throws other fs errors as they are. */
export async function makeRealDir(p: string | Buffer): Promise<RealDirState> {
  try {
    await fsp.mkdir(p);
    return 'made';
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  return lstatDir(p);
}

/** What is at `p`: 'existed' for a real directory; undefined when nothing is there. */
export async function realDirAt(p: string | Buffer): Promise<RealDirState | undefined> {
  try {
    return await lstatDir(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function lstatDir(p: string | Buffer): Promise<RealDirState> {
  const st = await fsp.lstat(p);
  return st.isDirectory() ? 'existed' : st.isSymbolicLink() ? 'a symlink' : 'not a directory';
}
