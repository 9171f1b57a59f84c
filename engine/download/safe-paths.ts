/**
 * Keeps every write inside the destination: manifest paths are checked before use, and parent directories are
 * created one component at a time, refusing any component that is a symlink (never write through a link).
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DatamoverError, errnoCode } from '../errors.js';

/** Returns `rel` if it is a safe manifest path; fails with UNSAFE_PATH otherwise. */
export function checkManifestPath(rel: string): string {
  const bad = !rel || rel.startsWith('/') || rel.includes('\0') || rel.split('/').some((s) => s === '' || s === '.' || s === '..');
  if (bad) throw new DatamoverError('UNSAFE_PATH', `manifest path ${JSON.stringify(rel)} is not a safe relative path`);
  return rel;
}

export class DestinationDirs {
  private readonly verified = new Set<string>();

  constructor(readonly root: string) {}

  /** Absolute path of manifest path `rel` under the root. */
  resolve(rel: string): string {
    return path.join(this.root, ...checkManifestPath(rel).split('/'));
  }

  /** Makes sure every directory of `relDir` exists as a real directory (not a link). '' is the root. */
  async ensure(relDir: string): Promise<void> {
    if (!relDir || this.verified.has(relDir)) return;
    const parts = checkManifestPath(relDir).split('/');
    let current = this.root;
    for (let i = 0; i < parts.length; i++) {
      const rel = parts.slice(0, i + 1).join('/');
      current = path.join(current, parts[i]);
      if (this.verified.has(rel)) continue;
      await ensureRealDir(current, rel);
      this.verified.add(rel);
    }
  }
}

async function ensureRealDir(abs: string, rel: string): Promise<void> {
  try {
    await fsp.mkdir(abs);
    return;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
  }
  const st = await fsp.lstat(abs);
  if (!st.isDirectory()) {
    throw new DatamoverError('UNSAFE_PATH', `${rel} in the destination is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}; refusing to write through it`);
  }
}
