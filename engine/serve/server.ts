/**
 * `serve`: HTTP over a store, read-only (node:http, no framework). Web pages and a JSON API over repos,
 * bundles, labels and the two logs; file downloads with ranges and directories as tar, every byte read through
 * a BundleReader (hash-checked). Loopback unless a token is set; with one, every request must carry it. The
 * server never prints: it reports `serve.listening` and `serve.failed` events.
 */
import { type IncomingMessage, type Server as HttpServer, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ioError, isDatamoverError } from '../errors.js';
import type { Reporter } from '../events.js';
import type { Store } from '../store.js';
import type { Contributor } from '../vocab.js';
import { CHALLENGES, tokenCheck } from './auth.js';
import type { ServeContext } from './context.js';
import { type Exchange, HttpError, baseHeaders, describeFailure, exchangeOf, sendFailure } from './exchange.js';
import { IndexCoverage } from './index-coverage.js';
import { DEFAULT_LISTEN, type ListenAddress, addressedToLoopback, checkExposure, parseListen, urlOf } from './listen.js';
import { route } from './routes.js';
import { sharedChunks } from '../read/bundle-reader.js';
import { PageCache } from '../read/page-cache.js';

/** The chunk cache all requests share (read-ahead takes at most 32 MiB of it per sequential stream). */
export const SERVE_CACHE_BYTES = 256 * 1024 * 1024;
/** The page cache all requests share, in entries: a few hundred bytes each decoded, so some 50-100 MiB. */
export const SERVE_PAGE_ENTRIES = 200_000;

export interface ServeOptions {
  store: Store;
  /** `host:port`, `[ipv6]:port` or a port (default 127.0.0.1:8080; port 0 picks a free one). */
  listen?: string;
  /** Required on any address that is not loopback: bearer token, or basic-auth password (≥ 16 characters). */
  token?: string;
  /** Named in the read log for every read through this server, with the client's address. */
  contributor: Contributor;
  reporter?: Reporter;
  /** Stops the server: it stops listening and ends open connections. */
  signal?: AbortSignal;
  /** Bytes of the verified chunks kept for all requests together (default 256 MiB). */
  cacheBytes?: number;
  /** Entries of the decoded manifest pages kept for all requests together (default 200,000: 20 full pages). */
  pageEntries?: number;
}

export interface Server {
  /** Where it listens, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Settles once the server has stopped. */
  readonly stopped: Promise<void>;
  /** Stops listening and ends open connections (what aborting `signal` does). */
  close(): Promise<void>;
}

/**
 * Starts serving (after loading the store's blob index); resolves once listening. USAGE (field `listen` or `token`) when a non-loopback address has
 * no token or the token is unfit; FORMAT when the store is not a datamover store; IO when the address cannot
 * be bound (in use, not permitted).
 */
export async function serve(opts: ServeOptions): Promise<Server> {
  const address = parseListen(opts.listen ?? DEFAULT_LISTEN);
  checkExposure(address, opts.token);
  await opts.store.listRepos();
  const coverage = new IndexCoverage(opts.store);
  await coverage.load();
  const report = opts.reporter ?? (() => undefined);
  // One chunk cache for every request: a file asked for again (or by many clients) is not fetched again. Fetches
  // stop with the server, not with the request that started them: another request may be waiting for them.
  const pool = await sharedChunks({ cacheBytes: opts.cacheBytes ?? SERVE_CACHE_BYTES });
  // Likewise one page cache: each request would otherwise read and decode its bundle's pages again.
  const pages = new PageCache(opts.pageEntries ?? SERVE_PAGE_ENTRIES);
  const ctx: ServeContext = {
    store: opts.store, contributor: opts.contributor, report,
    openReader: async (ex, repo, ref, logged) => {
      const bundle = await repo.resolve(ref);
      await coverage.cover(bundle);
      return repo.readerOf(bundle, {
        pool, pages, ...(opts.signal ? { signal: opts.signal } : {}), reporter: report,
        ...(logged ? { log: { contributor: opts.contributor, type: 'bundle.serve', client: ex.client } } : {}),
      });
    },
  };
  const admit = gate(opts.token);
  // handle() answers every failure itself; should answering fail too, the connection goes (never a crash).
  const http = createServer((req, res) => void handle(ctx, admit, req, res).catch(() => res.destroy()));
  http.headersTimeout = 30_000;
  http.requestTimeout = 60_000; // to receive a request (all are bodiless GETs), not to send the answer
  http.timeout = 5 * 60_000; // a client that stops reading for this long lets go of its reader and cache
  await listen(http, address);
  // Past listening, a server error (an accept that failed) is reported; it must not end the process.
  http.on('error', (err) => report({ type: 'serve.failed', method: '', target: '', client: '', status: 0, code: 'IO', error: err.message }));
  const bound = http.address() as AddressInfo;
  const url = urlOf(bound.address, bound.port);
  const stopped = new Promise<void>((resolve) => http.once('close', () => resolve()));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      http.close(() => resolve());
      http.closeAllConnections();
    });
    return closing;
  };
  if (opts.signal?.aborted) await close();
  opts.signal?.addEventListener('abort', () => void close(), { once: true });
  report({ type: 'serve.listening', url });
  return { url, stopped, close };
}

function listen(http: HttpServer, address: ListenAddress): Promise<void> {
  return new Promise((resolve, reject) => {
    http.once('error', (err) => reject(ioError(`listen ${address.host}:${address.port}`, err)));
    http.listen(address.port, address.host, () => resolve());
  });
}

/** Refuses a request that may not be answered: without the token (with one set), or not addressed to loopback (without). */
type Gate = (req: IncomingMessage, res: ServerResponse) => void;

function gate(token: string | undefined): Gate {
  const authorized = tokenCheck(token);
  return (req, res) => {
    if (token === undefined && !addressedToLoopback(req.headers.host)) {
      throw new HttpError(403, 'HOST', 'without a token this server answers only requests addressed to a loopback name (Host: localhost, 127.0.0.1, [::1])');
    }
    if (!authorized(req.headers.authorization)) {
      res.setHeader('WWW-Authenticate', CHALLENGES);
      throw new HttpError(401, 'UNAUTHORIZED', 'this server needs its token: Authorization: Bearer <token>, or basic auth with the token as password');
    }
  };
}

async function handle(ctx: ServeContext, admit: Gate, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  res.once('close', () => gone.abort());
  baseHeaders(res);
  const ex = exchangeOf(req, res, gone.signal);
  if (!ex) {
    res.statusCode = 400;
    res.end();
    return;
  }
  try {
    admit(req, res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      throw new HttpError(405, 'METHOD', `${req.method}: this server is read-only (GET and HEAD)`);
    }
    await route(ctx, ex);
  } catch (err) {
    fail(ctx, ex, err);
  }
}

/** Headers that describe content a failed answer does not carry. */
const CONTENT_HEADERS = ['ETag', 'Last-Modified', 'Accept-Ranges', 'Content-Disposition', 'Content-Length'];

/**
 * Answers a failure: its page (or JSON) while nothing was sent, else the connection is destroyed so the client
 * sees a cut transfer. A client that went away gets nothing. Server-side failures are reported.
 */
function fail(ctx: ServeContext, ex: Exchange, err: unknown): void {
  if (ex.signal.aborted || isDatamoverError(err, 'INTERRUPTED')) {
    ex.res.destroy();
    return;
  }
  const failure = describeFailure(err);
  if (failure.status >= 500) {
    ctx.report({ type: 'serve.failed', method: ex.req.method ?? '', target: ex.req.url ?? '', client: ex.client, status: failure.status, code: failure.code, error: failure.message });
  }
  if (ex.res.headersSent) {
    ex.res.destroy();
    return;
  }
  for (const name of CONTENT_HEADERS) ex.res.removeHeader(name);
  if (failure.status !== 416) ex.res.removeHeader('Content-Range');
  sendFailure(ex, failure);
}
