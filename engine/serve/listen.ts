/**
 * Where the server listens, and the rule that keeps it private: loopback addresses need nothing, any other
 * address needs a token (a server reachable from the network never answers without one).
 */
import { BlockList, isIP } from 'node:net';
import { InputError } from '../errors.js';

export const DEFAULT_LISTEN = '127.0.0.1:8080';
/** The shortest token taken: shorter ones can be guessed by anyone who can reach the port. */
export const MIN_TOKEN_LENGTH = 16;

export interface ListenAddress { host: string; port: number }

/**
 * Parses `host:port`, `[ipv6]:port` or a bare port (on 127.0.0.1). The host is an IP address, `localhost` or a
 * host name; port 0 asks the system for a free port. USAGE (field `listen`) otherwise.
 */
export function parseListen(value: string): ListenAddress {
  const bad = (problem: string) => new InputError('listen', JSON.stringify(value), problem);
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim()) ?? /^()()(\d{1,5})$/.exec(value.trim());
  if (!m) throw bad('expected host:port, [ipv6]:port or a port');
  const host = m[1] || m[2] || '127.0.0.1';
  if (m[1] && isIP(m[1]) !== 6) throw bad('not an IPv6 address');
  const port = Number(m[3]);
  if (port > 65535) throw bad('port out of range (0-65535)');
  return { host, port };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `host` is a loopback address: `localhost`, 127.0.0.0/8, ::1 (any spelling, IPv4-mapped too). */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks the pair before anything binds: USAGE when `host` is not loopback and there is no token, or when the
 * token is too short or holds characters a header cannot carry (space, control, non-ASCII).
 */
export function checkExposure(address: ListenAddress, token: string | undefined): void {
  if (token !== undefined) {
    const given = `of ${token.length} characters`;
    if (token.length < MIN_TOKEN_LENGTH) throw new InputError('token', given, `too short (at least ${MIN_TOKEN_LENGTH} characters)`);
    if (!/^[\x21-\x7e]+$/.test(token)) throw new InputError('token', given, 'only printable ASCII without spaces can travel in a header');
  }
  if (!isLoopback(address.host) && token === undefined) {
    throw new InputError('listen', `${address.host}:${address.port}`, 'not a loopback address: serving it needs a token');
  }
}

/** The URL a client uses for a bound address (IPv6 in brackets). */
export function urlOf(host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/** The host name of a `Host` header (`name:port`, `[ipv6]:port`, or a bare name), lower case. */
export function hostOfHeader(header: string): string {
  const h = header.trim().toLowerCase();
  const bracketed = /^\[([^\]]*)\](?::\d*)?$/.exec(h);
  if (bracketed) return bracketed[1]!;
  return h.replace(/:\d*$/, '');
}

/**
 * Whether a request may be answered without a token: its `Host` names a loopback address (or it has none). A
 * page of another site whose name an attacker re-points at 127.0.0.1 (DNS rebinding) sends its own name as
 * Host, so it is refused even though it reached the loopback port.
 */
export function addressedToLoopback(hostHeader: string | undefined): boolean {
  return hostHeader === undefined || isLoopback(hostOfHeader(hostHeader));
}

