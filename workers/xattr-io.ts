/**
 * Extended attributes (`user.*`) and POSIX ACLs (the xattrs `system.posix_acl_access` and `_default`), through
 * an optional native package: Node has no xattr API. The package is loaded on first use and may be absent;
 * then nothing is recorded or restored and callers report that. Every call acts on the path itself, never
 * through a final symlink (the package uses lgetxattr/lsetxattr). Synchronous, so write workers use it too.
 */
import { createRequire } from 'node:module';
import { fsPath } from '../engine/fs-path.js';
import os from 'node:os';

/** The optional package (prebuilt N-API binaries for Linux and macOS). */
export const XATTR_PACKAGE = '@napi-rs/xattr';

/** The part of the package used here. */
export interface XattrIo {
  listAttributesSync(path: string): string[];
  getAttributeSync(path: string, name: string): Buffer | null;
  setAttributeSync(path: string, name: string, value: Uint8Array): void;
}

let loaded: XattrIo | null | undefined;

/** The package, or undefined when it is not installed (or does not load on this platform). */
export function xattrIo(): XattrIo | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)(XATTR_PACKAGE) as XattrIo;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}

/** The attributes a bundle keeps: the user namespace and ACLs (security.* and trusted.* need privileges). */
export function isRecorded(name: string): boolean {
  return name.startsWith('user.') || name === 'system.posix_acl_access' || name === 'system.posix_acl_default';
}

/**
 * The package takes string paths, which it encodes as UTF-8: a name holding other bytes (fs-path.ts) would name
 * another file, so it is refused (code NON_UTF8_NAME) and reported like any attribute not recorded or restored.
 */
function utf8Path(abs: string): string {
  if (typeof fsPath(abs) === 'string') return abs;
  throw Object.assign(new Error('the name is not UTF-8, which the xattr package cannot name'), { code: 'NON_UTF8_NAME' });
}

/** Name → base64 value, names sorted. */
export type Xattrs = Record<string, string>;

/** The recorded attributes of `abs` (undefined when none); throws as the package does. */
export function readXattrs(io: XattrIo, abs: string): Xattrs | undefined {
  abs = utf8Path(abs);
  const names = io.listAttributesSync(abs).filter(isRecorded).sort();
  if (!names.length) return undefined;
  const out: Xattrs = {};
  for (const name of names) {
    const value = io.getAttributeSync(abs, name);
    if (value) out[name] = value.toString('base64');
  }
  return Object.keys(out).length ? out : undefined;
}

/** An attribute that could not be set, with the errno code. */
export interface XattrFailure { name: string; code: string }

/**
 * Sets each attribute on `abs`; returns those refused (never throws for them). Names outside the recorded
 * namespaces are refused unset: a crafted manifest must not set `security.capability` or `trusted.*`.
 */
export function writeXattrs(io: XattrIo, abs: string, xattrs: Xattrs): XattrFailure[] {
  const failures: XattrFailure[] = [];
  try {
    abs = utf8Path(abs);
  } catch (err) {
    return Object.keys(xattrs).map((name) => ({ name, code: errnoName(err) }));
  }
  for (const [name, value] of Object.entries(xattrs)) {
    if (!isRecorded(name) || typeof value !== 'string') {
      failures.push({ name, code: 'not a user.* attribute or ACL: refused' });
      continue;
    }
    try {
      io.setAttributeSync(abs, name, Buffer.from(value, 'base64'));
    } catch (err) {
      failures.push({ name, code: errnoName(err) });
    }
  }
  return failures;
}

/** Whether `abs` holds exactly `xattrs` among the recorded names. */
export function sameXattrs(io: XattrIo, abs: string, xattrs: Xattrs | undefined): boolean {
  try {
    return JSON.stringify(readXattrs(io, abs) ?? {}) === JSON.stringify(xattrs ?? {});
  } catch {
    return false;
  }
}

const errnoNames = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

/** The errno name of a package error ("... (os error 95)" → EOPNOTSUPP). */
export function errnoName(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code && code.startsWith('E')) return code;
  const n = /\(os error (\d+)\)/.exec(String((err as Error).message ?? err))?.[1];
  return (n && errnoNames.get(Number(n))) ?? String((err as Error).message ?? err);
}
