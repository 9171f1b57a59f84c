/**
 * The listing of a local store: a walk of its directories under a key prefix, each file with its size. Keys
 * are paths relative to the root, joined with `/`. Reads of directories and stats go through LoopCalls: on the
 * loop while the kernel answers them from its caches, on the thread pool, several at once, otherwise.
 */
import fs, { type Dirent, promises as fsp } from 'node:fs';
import path from 'node:path';
import { forEachLimited } from '../runtime/concurrency.js';
import { isMissing, mapError } from './local-errors.js';
import type { LoopCalls } from './loop-calls.js';

export interface ListedFile { key: string; size: number }

/** Directories walked at once and files stat'ed at once (what overlaps when the calls go to the pool). */
const DIRS_AT_ONCE = 8;
const STATS_AT_ONCE = 16;

/**
 * Every file under `prefix` with its size, in no particular order; the top-level entry `skipTop` is left out.
 * With `oneLevel`, a directory one level below the prefix is one entry `<key>/` (size 0), when it holds a file
 * at any depth. A file or directory deleted while the walk goes is left out, as an object store's listing
 * leaves out an object deleted before the listing reached it. Errors: StorageError naming the path.
 */
export async function listLocalFiles(root: string, prefix: string, oneLevel: boolean, skipTop: string, calls: LoopCalls): Promise<ListedFile[]> {
  const out: ListedFile[] = [];
  const walk = async (rel: string): Promise<void> => {
    const files: string[] = [];
    const dirs: string[] = [];
    for (const e of await readDir(root, rel, calls)) {
      const key = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && e.name === skipTop) continue;
      if (!key.startsWith(prefix) && !prefix.startsWith(`${key}/`)) continue;
      if (e.isDirectory()) dirs.push(key);
      else if (e.isFile()) files.push(key);
    }
    await forEachLimited(files, STATS_AT_ONCE, async (key) => {
      const size = await fileSize(root, key, calls);
      if (size !== undefined) out.push({ key, size });
    });
    await forEachLimited(dirs, DIRS_AT_ONCE, async (key) => {
      // A directory left empty by deletes is no common prefix: object stores have no empty "directories".
      if (oneLevel && key.length >= prefix.length) { if (await holdsFile(root, key, calls)) out.push({ key: `${key}/`, size: 0 }); }
      else await walk(key);
    });
  };
  await walk(prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '');
  return out;
}

/** Whether the directory of `key` holds a file, at any depth. */
async function holdsFile(root: string, key: string, calls: LoopCalls): Promise<boolean> {
  for (const e of await readDir(root, key, calls)) {
    if (e.isFile() || (e.isDirectory() && await holdsFile(root, `${key}/${e.name}`, calls))) return true;
  }
  return false;
}

/** The entries of directory `rel`; none when it is gone (or is no directory). */
async function readDir(root: string, rel: string, calls: LoopCalls): Promise<Dirent[]> {
  const dir = rel ? path.join(root, rel) : root;
  try {
    return await calls.run(() => fs.readdirSync(dir, { withFileTypes: true }), () => fsp.readdir(dir, { withFileTypes: true }));
  } catch (err) {
    if (isMissing(err)) return [];
    throw mapError(err, rel);
  }
}

/** The size of file `key`, or undefined when it is gone or no longer a file. */
async function fileSize(root: string, key: string, calls: LoopCalls): Promise<number | undefined> {
  const file = path.join(root, key);
  try {
    const st = await calls.run(() => fs.lstatSync(file), () => fsp.lstat(file));
    return st.isFile() ? st.size : undefined;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw mapError(err, key);
  }
}
