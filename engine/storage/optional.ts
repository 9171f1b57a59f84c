/**
 * The optional methods of Storage (fast paths and maintenance that only some backends have), listed once, so
 * that every decorator (retry, lazy loading, role routing) exposes exactly the optional methods of the stores
 * it wraps. A caller tests for a method (`storage.readInto`) and falls back when it is absent: a decorator that
 * dropped one would silently lose the fast path; one that always had it would hide that the backend lacks it.
 */
import type { Storage } from './storage.js';

/** Every optional method of Storage. The check below fails to compile when one is missing from the list. */
export const OPTIONAL_METHODS = ['readInto', 'abortStaleUploads', 'pendingUploads'] as const;

export type OptionalMethod = (typeof OPTIONAL_METHODS)[number];

/** A decorator's own version of every optional method (each used only where the wrapped store has it). */
export type OptionalMethods = Required<Pick<Storage, OptionalMethod>>;

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
// Compile-time: a new optional member of Storage must join OPTIONAL_METHODS (and so every decorator).
const listsEveryOptionalMethod: [Exclude<OptionalKeys<Storage>, OptionalMethod>] extends [never] ? true : never = true;
void listsEveryOptionalMethod;

/** Whether `storage` has optional method `name`. */
export function hasMethod(storage: Storage, name: OptionalMethod): boolean {
  return typeof storage[name] === 'function';
}

/**
 * The optional methods a decorator exposes: those of `own` for which `has(name)` is true (typically: the
 * wrapped store has it). Assign the result onto the decorator in its constructor; the decorator class declares
 * the optional methods (`declare readonly readInto?: …`) without defining them.
 */
export function optionalMethods(has: (name: OptionalMethod) => boolean, own: OptionalMethods): Partial<OptionalMethods> {
  const out: Partial<OptionalMethods> = {};
  for (const name of OPTIONAL_METHODS) {
    if (has(name)) (out as Record<OptionalMethod, unknown>)[name] = own[name];
  }
  return out;
}
