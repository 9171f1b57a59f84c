import { errnoCode } from '../errors.js';
import { StorageError } from './storage.js';

/** Whether `err` says the path (or a directory on it) is not there. */
export function isMissing(err: unknown): boolean {
  const code = errnoCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A file system error on `key` as a StorageError: notFound for a missing path, retryable for exhausted descriptors. */
export function mapError(err: unknown, key: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  if (isMissing(err)) return new StorageError('notFound', `no object at ${key}`, { cause: err });
  const retryable = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY';
  const msg = `local store: ${key}: ${err instanceof Error ? err.message : String(err)}`;
  return new StorageError(retryable ? 'retryable' : 'permanent', msg, { cause: err });
}
