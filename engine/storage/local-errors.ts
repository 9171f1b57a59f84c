import { errnoCode } from '../errors.js';
import { StorageError } from './storage.js';

/** A file system error on `key` as a StorageError: notFound for a missing path, retryable for exhausted descriptors. */
export function mapError(err: unknown, key: string): StorageError {
  if (err instanceof StorageError) return err;
  const code = errnoCode(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new StorageError('notFound', `no object at ${key}`, { cause: err });
  const retryable = code === 'EMFILE' || code === 'ENFILE' || code === 'EAGAIN' || code === 'EBUSY';
  const msg = `local store: ${key}: ${err instanceof Error ? err.message : String(err)}`;
  return new StorageError(retryable ? 'retryable' : 'permanent', msg, { cause: err });
}
