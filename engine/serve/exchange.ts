/**
 * One request and its response: the parsed target, the client, a signal that aborts when the client goes away,
 * and the ways to answer (a page, JSON, an error). Every answer carries headers that keep a browser from
 * sniffing, framing or running what it did not expect; errors are one line (code and message), never a stack.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DatamoverError, type ErrorCode } from '../errors.js';
import { html, page } from './html.js';
import { rawQuery, textParam } from './url-path.js';

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: 'GET' | 'HEAD';
  /** The path's segments, still percent-encoded ('/a/b' → ['a', 'b']; '/' → []). */
  segments: string[];
  /** Query parameters, values still percent-encoded. */
  query: Map<string, string>;
  /** The client's address (an IPv4-mapped IPv6 address as plain IPv4). */
  client: string;
  /** Aborted when the client goes away (or the response is done). */
  signal: AbortSignal;
  /** Whether this is a request of the JSON API (/api/...): errors are answered in JSON. */
  api: boolean;
}

/** An answer other than 200 that a handler decides on: the error page (or JSON) with this status. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

export const notFoundHere = (what: string) => new HttpError(404, 'NOT_FOUND', `${what}: not found`);
export const badRequest = (what: string) => new HttpError(400, 'BAD_REQUEST', what);

/** Parses the request target; undefined when it is not an origin-form path (then 400). */
export function exchangeOf(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Exchange | undefined {
  const target = req.url ?? '';
  if (!target.startsWith('/')) return undefined;
  const pathPart = target.split(/[?#]/, 1)[0]!;
  const segments = pathPart === '/' ? [] : pathPart.slice(1).split('/');
  const address = req.socket.remoteAddress ?? '';
  return {
    req, res, signal, segments, query: rawQuery(target), method: req.method as 'GET' | 'HEAD',
    client: address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address,
    api: segments[0] === 'api',
  };
}

/** A query parameter as text; `undefined` when absent or empty. */
export function param(ex: Exchange, name: string): string | undefined {
  const value = textParam(ex.query, name)?.trim();
  return value === '' ? undefined : value;
}

/** Headers on every answer. Pages run no script and load only this server's stylesheet. */
export function baseHeaders(res: ServerResponse): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
}

export function sendHtml(ex: Exchange, body: string, status = 200): void {
  send(ex, status, 'text/html; charset=utf-8', Buffer.from(body, 'utf8'));
}

export function sendJson(ex: Exchange, value: unknown, status = 200): void {
  send(ex, status, 'application/json; charset=utf-8', Buffer.from(`${JSON.stringify(value)}\n`, 'utf8'));
}

export function sendText(ex: Exchange, type: string, body: string): void {
  send(ex, 200, type, Buffer.from(body, 'utf8'));
}

export function redirect(ex: Exchange, location: string): void {
  ex.res.setHeader('Location', location);
  send(ex, 303, 'text/plain; charset=utf-8', Buffer.from(`see ${location}\n`));
}

function send(ex: Exchange, status: number, type: string, body: Buffer): void {
  ex.res.statusCode = status;
  ex.res.setHeader('Content-Type', type);
  ex.res.setHeader('Content-Length', body.length);
  ex.res.end(ex.method === 'HEAD' ? undefined : body);
}

/** HTTP status per engine error code: missing → 404, damaged or failing storage → 502, the rest → 500. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  NOT_FOUND: 404, USAGE: 400, BAD_INPUT: 400, INTEGRITY: 502, UNSAFE_PATH: 502, STORAGE: 502, INTERRUPTED: 503,
};

/** The status, code and one-line message an error is answered with; an unexpected error shows no detail. */
export function describeFailure(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof DatamoverError) return { status: STATUS[err.code] ?? 500, code: err.code, message: err.message.split('\n')[0]! };
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

const TITLES: Record<number, string> = {
  400: 'Bad request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not found', 405: 'Method not allowed', 416: 'Range not satisfiable',
  500: 'Internal error', 502: 'Bad gateway: damaged or unreadable data', 503: 'Unavailable',
};

/** Answers with the error page (or JSON `{error: {code, message}}` on the API). */
export function sendFailure(ex: Exchange, failure: { status: number; code: string; message: string }): void {
  if (ex.api) {
    sendJson(ex, { error: { code: failure.code, message: failure.message } }, failure.status);
    return;
  }
  const title = `${failure.status} ${TITLES[failure.status] ?? 'Error'}`;
  const body = html`<p class="error"><code>${failure.code}</code>: ${failure.message}</p>\n<p><a href="/">back to the repos</a></p>`;
  sendHtml(ex, page({ title }, body), failure.status);
}
