/**
 * The token check on every request: `Authorization: Bearer <token>` or HTTP basic auth with the token as the
 * password (any user name), so both scripts and browsers get in. Compared in constant time: both sides are
 * hashed to the same length first, then `timingSafeEqual` (a plain `===` would leak the matching prefix length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** The challenges a 401 carries: a browser prompts for the basic one, scripts send a bearer token. */
export const CHALLENGES = ['Basic realm="datamover", charset="UTF-8"', 'Bearer realm="datamover"'];

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

/** A checker of Authorization headers; with no token every request passes. */
export function tokenCheck(token: string | undefined): (authorization: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const given = presented(authorization);
    // Compared even when nothing was presented, so a missing header costs what a wrong one does.
    const ok = timingSafeEqual(digest(given ?? ''), expected);
    return ok && given !== undefined;
  };
}

/** The secret in an Authorization header: the bearer token, or the password of basic credentials. */
function presented(header: string | undefined): string | undefined {
  const m = /^\s*(\S+)\s+(\S+)\s*$/.exec(header ?? '');
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  if (scheme === 'bearer') return m[2];
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(m[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}
