import { monotonicFactory } from 'ulid';
import { usageError } from '../errors.js';

const nextUlid = monotonicFactory();

/** A new ULID: sorts by creation time, monotonic within this process. */
export function newId(): string {
  return nextUlid();
}

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Returns `id`, or fails with USAGE naming `what` when it is not a ULID. */
export function checkBundleId(id: string, what = 'bundle id'): string {
  if (!ULID.test(id)) throw usageError(`${what} ${JSON.stringify(id)} is malformed (expected a 26-character ULID)`);
  return id;
}

/** Repo and label names: letters, digits, `.`, `_`, `-`, starting with a letter or digit; at most 100 chars. */
export function checkName(name: string, what: 'repo' | 'label'): string {
  if (!NAME.test(name)) {
    throw usageError(`${what} name ${JSON.stringify(name)} is invalid (letters, digits, '.', '_', '-'; must start with a letter or digit)`);
  }
  return name;
}
