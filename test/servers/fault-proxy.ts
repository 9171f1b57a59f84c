/**
 * A loopback HTTP proxy in front of the S3 test server that injects the network faults users of S3 tools
 * meet: 503 SlowDown, a connection reset mid-body, a stalled response, a body cut short. A seeded generator
 * decides, request by request in arrival order, whether and how to fault, so a run's fault mix is reproducible
 * (which request gets which fault depends on the client's concurrency).
 *
 * Every request is forwarded unchanged (Host included, so SigV4 signatures stay valid), except `Expect`,
 * which the proxy answers itself.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rng } from '../helpers.js';

export const FAULTS = ['slowdown', 'reset', 'stall', 'truncate'] as const;
export type Fault = (typeof FAULTS)[number];

export interface FaultPlan {
  /** Fraction of matching requests that fault, 0..1. */
  rate: number;
  faults: readonly Fault[];
  /** Only requests this returns true for may fault (default: all). */
  match?: (method: string, url: string) => boolean;
}

export interface FaultCounts { requests: number; faulted: number; byFault: Record<Fault, number> }

export class FaultProxy {
  readonly counts: FaultCounts = { requests: 0, faulted: 0, byFault: { slowdown: 0, reset: 0, stall: 0, truncate: 0 } };
  private plan: FaultPlan = { rate: 0, faults: FAULTS };
  private readonly random: () => number;
  private readonly server: http.Server;
  private readonly upstream: URL;
  private readonly stalled = new Set<http.ServerResponse>();

  private constructor(upstream: string, seed: number) {
    this.upstream = new URL(upstream);
    this.random = rng(seed);
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
  }

  /** Starts a proxy to `upstream` (an http:// URL) on a free loopback port. */
  static async start(upstream: string, seed: number): Promise<FaultProxy> {
    const proxy = new FaultProxy(upstream, seed);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Replaces the fault plan; counts go on accumulating. */
  configure(plan: Partial<FaultPlan>): void {
    this.plan = { rate: 0, faults: FAULTS, ...plan };
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pick(req: http.IncomingMessage): Fault | undefined {
    this.counts.requests++;
    const { rate, faults, match } = this.plan;
    if (match && !match(req.method ?? 'GET', req.url ?? '/')) return undefined;
    if (this.random() >= rate) return undefined;
    const fault = faults[Math.floor(this.random() * faults.length)]!;
    this.counts.faulted++;
    this.counts.byFault[fault]++;
    return fault;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const fault = this.pick(req);
    if (fault === 'slowdown') return void req.resume().on('end', () => slowDown(res));
    if (fault === 'reset' && this.random() < 0.5) return resetMidRequest(req);
    this.forward(req, (status, headers, body) => {
      if (!fault) {
        res.writeHead(status, headers);
        res.end(body);
      } else if (fault === 'stall') {
        this.stall(res, status, headers, body);
      } else {
        cutShort(res, status, headers, body, fault === 'reset' ? 'destroy' : 'end');
      }
    }, () => res.destroy());
  }

  /** Sends the request upstream and hands over the whole response. */
  private forward(
    req: http.IncomingMessage, onResponse: (status: number, headers: http.OutgoingHttpHeaders, body: Buffer) => void,
    onError: () => void,
  ): void {
    const headers = { ...req.headers };
    delete headers.expect;
    const up = http.request({
      host: this.upstream.hostname, port: this.upstream.port, method: req.method, path: req.url, headers,
    }, (upRes) => {
      const parts: Buffer[] = [];
      upRes.on('data', (d: Buffer) => parts.push(d));
      upRes.on('end', () => onResponse(upRes.statusCode ?? 502, upRes.headers, Buffer.concat(parts)));
      upRes.on('error', onError);
    });
    up.on('error', onError);
    req.pipe(up);
  }

  /** Headers and half the body, then silence until the client gives up (or a minute passes). */
  private stall(res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer): void {
    this.stalled.add(res);
    if (body.length > 0) {
      res.writeHead(status, headers);
      res.write(body.subarray(0, Math.floor(body.length / 2)));
    }
    const timer = setTimeout(() => res.destroy(), 60_000);
    res.on('close', () => { clearTimeout(timer); this.stalled.delete(res); });
  }
}

function slowDown(res: http.ServerResponse): void {
  const xml = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>';
  res.writeHead(503, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(xml) });
  res.end(xml);
}

/** Reads part of the request body (if any), then drops the connection without an answer. */
function resetMidRequest(req: http.IncomingMessage): void {
  let seen = 0;
  const expected = Number(req.headers['content-length'] ?? 0);
  if (expected === 0) return void req.socket.destroy();
  req.on('data', (d: Buffer) => {
    seen += d.length;
    if (seen >= expected / 2) req.socket.destroy();
  });
}

/**
 * The upstream's status and headers (its Content-Length included) with only half the body, then the
 * connection is reset (`destroy`) or closed cleanly (`end`). A bodiless answer is dropped whole: the request
 * took effect upstream, but the client never learns it did.
 */
function cutShort(
  res: http.ServerResponse, status: number, headers: http.OutgoingHttpHeaders, body: Buffer, how: 'destroy' | 'end',
): void {
  if (body.length === 0) return void res.socket?.destroy();
  res.writeHead(status, headers);
  res.write(body.subarray(0, Math.floor(body.length / 2)), () => {
    if (how === 'destroy') res.socket?.resetAndDestroy();
    else res.socket?.end();
  });
}
