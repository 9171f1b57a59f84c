import { encodeTime, monotonicFactory } from 'ulid';
import { InputError, usageError } from '../errors.js';

const nextUlid = monotonicFactory();

/** A new ULID: sorts by creation time, monotonic within this process. */
export function newId(): string {
  return nextUlid();
}

/** A bundle id: a ULID. */
export const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** A repo or label name (checkName). */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const isBundleId = (value: string): boolean => ULID.test(value);

/** Returns `id`, or fails with USAGE naming `what` when it is not a ULID. */
export function checkBundleId(id: string, what = 'bundle id'): string {
  if (!ULID.test(id)) throw usageError(`${what} ${JSON.stringify(id)} is malformed (expected a 26-character ULID)`);
  return id;
}

/** Repo and label names: letters, digits, `.`, `_`, `-`, starting with a letter or digit; at most 100 chars. */
export function checkName(name: string, what: 'repo' | 'label' | 'label prefix'): string {
  if (!NAME.test(name)) {
    throw usageError(`${what} name ${JSON.stringify(name)} is invalid (letters, digits, '.', '_', '-'; must start with a letter or digit)`);
  }
  return name;
}

/** The smallest ULID of millisecond `ms`: records after it (`id > idAt(ms)`) were made at or after `ms`. */
export function idAt(ms: number): string {
  return `${encodeTime(Math.max(0, ms - 1), 10)}ZZZZZZZZZZZZZZZZ`;
}

/**
 * Parses a `since` time: an ISO date or time (`2026-11-24`, `2026-11-24T10:00Z`) or an age (`90s`, `15m`, `2h`, `7d`).
 * Returns epoch milliseconds; fails with USAGE (an InputError of field `since`).
 */
export function parseSince(value: string, now = Date.now()): number {
  const age = /^(\d+)\s*(s|m|h|d)$/.exec(value.trim());
  if (age) return now - Number(age[1]) * { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[age[2] as 's' | 'm' | 'h' | 'd'];
  const t = /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new InputError('since', JSON.stringify(value), 'expected an ISO date/time or an age like 2h or 7d');
  return t;
}
