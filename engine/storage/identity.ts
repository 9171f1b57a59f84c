/**
 * The principal a store's records are written as (Storage.identity): each backend answers from the credentials it
 * was opened with, once per opened store. Here: what every backend shares (the cache, the local user) and the one
 * way a principal is shown.
 */
import os from 'node:os';
import type { Principal } from '../vocab.js';

export type { Principal } from '../vocab.js';

/**
 * `resolve`, run once and its promise shared by every caller; a failure is not remembered (the next call tries
 * again, so a retry decorator above can retry a transient one).
 */
export function cachedIdentity(resolve: () => Promise<Principal>): (key?: string) => Promise<Principal> {
  let cached: Promise<Principal> | undefined;
  return () => {
    if (!cached) {
      const attempt = resolve();
      cached = attempt;
      attempt.catch(() => { if (cached === attempt) cached = undefined; });
    }
    return cached;
  };
}

/**
 * The user this process runs as: its uid (what the operating system vouches for), the user name the uid maps to
 * (`uid<N>` when no account entry has it, as in some containers), and the host. Never an environment variable.
 */
export function localIdentity(): Principal {
  const uid = process.getuid?.();
  const host = os.hostname();
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = uid === undefined ? 'unknown' : `uid${uid}`;
  }
  return { id: `${user}@${host}`, via: 'local-user', ...(uid === undefined ? {} : { uid }), user, host };
}

/** One line: `alice@host (uid 1000)`, `arn:aws:iam::1:user/x (sts)`, `AKIA… (access-key)`; `-` for none (older records). */
export function principalText(p: Principal | undefined): string {
  if (!p) return '-';
  if (p.via === 'local-user') return `${p.id}${p.uid === undefined ? '' : ` (uid ${p.uid})`}`;
  return `${p.id} (${p.via})`;
}
