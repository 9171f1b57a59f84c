import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';
import { LocalStorage } from './local.js';
import { MemoryStorage } from './memory.js';
import { RetryingStorage } from './retry.js';
import type { Storage } from './storage.js';

/** `$DATAMOVER_HOME/store`, the embedded default store (DESIGN §9). */
export function defaultStorePath(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.DATAMOVER_HOME || path.join(os.homedir(), '.datamover');
  return path.join(home, 'store');
}

/**
 * Opens the store at `url`: a plain path, `file:///abs/path`, or `memory://` (process-local).
 * Fails with USAGE for schemes this build does not serve. The result retries transient failures.
 */
export function openStorage(url: string): Storage {
  return new RetryingStorage(openBackend(url));
}

function openBackend(url: string): Storage {
  if (url.startsWith('file://')) return new LocalStorage(fileURLToPath(url));
  if (url === 'memory://') return new MemoryStorage();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1];
  if (scheme) throw usageError(`--store ${url}: the ${scheme}:// scheme is not supported by this build (use a path or file://)`);
  return new LocalStorage(url);
}
