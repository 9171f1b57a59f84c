import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoCode } from '../errors.js';
import { StorageError } from './storage.js';

/** A lock older than this is taken to belong to a crashed process. Far above any compare-and-swap's duration. */
const STALE_MS = 30_000;
const GIVE_UP_MS = 60_000;

/**
 * Runs `fn` holding an exclusive lock on `key` among all processes sharing `lockDir` (O_EXCL create).
 * Fails with a retryable StorageError if the lock cannot be had within a minute.
 */
export async function withKeyLock<T>(lockDir: string, key: string, fn: () => Promise<T>): Promise<T> {
  await fsp.mkdir(lockDir, { recursive: true });
  const lockPath = path.join(lockDir, createHash('sha256').update(key).digest('hex').slice(0, 32));
  const started = Date.now();
  for (;;) {
    try {
      const fh = await fsp.open(lockPath, 'wx');
      await fh.close();
      break;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
      await removeIfStale(lockPath);
      if (Date.now() - started > GIVE_UP_MS) throw new StorageError('retryable', `lock on ${key} is held too long`);
      await sleep(2 + Math.random() * 10);
    }
  }
  try {
    return await fn();
  } finally {
    await fsp.rm(lockPath, { force: true });
  }
}

async function removeIfStale(lockPath: string): Promise<void> {
  try {
    const st = await fsp.stat(lockPath);
    if (Date.now() - st.mtimeMs > STALE_MS) await fsp.rm(lockPath, { force: true });
  } catch {
    // vanished meanwhile: the next attempt will tell
  }
}
