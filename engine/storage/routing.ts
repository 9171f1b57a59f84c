/**
 * Role routing: one logical store over up to four physical ones, by the first segment of each key —
 * `blobs/` (packs and indexes), `wal/`, `readlog/`, and everything else (`meta/`, `format.json`) to the meta store.
 * Lets a context keep, say, packs in a cheap bucket and the WAL in a locked-down one.
 */
import type { Readable } from 'node:stream';
import { type OpenOptions, openStorage } from './open.js';
import type { Principal } from './identity.js';
import { hasMethod, optionalMethods } from './optional.js';
import {
  type Body, type GetOptions, type ListOptions, type RequestOptions, type ListEntry, type MultipartOptions, type MultipartUpload, type ObjectInfo, type PutOptions,
  type PutResult, type Storage, readRangeInto,
} from './storage.js';

export type Role = 'blobs' | 'meta' | 'wal' | 'readlog';

export function roleOf(key: string): Role {
  const first = key.slice(0, key.indexOf('/') + 1);
  return first === 'blobs/' ? 'blobs' : first === 'wal/' ? 'wal' : first === 'readlog/' ? 'readlog' : 'meta';
}

export class RoutingStorage implements Storage {
  readonly url: string;
  declare readonly readInto?: Storage['readInto'];
  declare readonly abortStaleUploads?: Storage['abortStaleUploads'];
  declare readonly pendingUploads?: Storage['pendingUploads'];

  /** Has each optional method that one of `stores` has; a key whose store lacks it takes the fallback. */
  constructor(private readonly stores: Record<Role, Storage>) {
    const { meta, blobs, wal, readlog } = stores;
    this.url = [meta.url, blobs !== meta && `blobs=${blobs.url}`, wal !== meta && `wal=${wal.url}`, readlog !== meta && `readlog=${readlog.url}`]
      .filter(Boolean).join(' ');
    Object.assign(this, optionalMethods((name) => Object.values(stores).some((s) => hasMethod(s, name)), {
      readInto: (...args) => readRangeInto(this.route(args[0]), ...args),
      abortStaleUploads: async (...args) => (await this.route(args[0]).abortStaleUploads?.(...args)) ?? [],
      pendingUploads: async (...args) => (await this.route(args[0]).pendingUploads?.(...args)) ?? [],
    }));
  }

  /** The most restrictive of the stores' limits: an upload must suit every store it touches. */
  get capabilities() {
    const all = Object.values(this.stores).map((s) => s.capabilities);
    return {
      minPartSize: Math.max(...all.map((c) => c.minPartSize)),
      maxPartSize: Math.min(...all.map((c) => c.maxPartSize)),
      maxParts: Math.min(...all.map((c) => c.maxParts)),
      conditionalWrites: all.every((c) => c.conditionalWrites),
      suggestedConcurrency: Math.min(...all.map((c) => c.suggestedConcurrency)),
    };
  }

  private route(key: string): Storage { return this.stores[roleOf(key)]; }

  stat(key: string, opts?: RequestOptions): Promise<ObjectInfo | undefined> { return this.route(key).stat(key, opts); }
  /** A prefix without a role segment (e.g. '') lists the meta store only. */
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry> { return this.route(prefix).list(prefix, opts); }
  get(key: string, opts?: GetOptions): Promise<Readable> { return this.route(key).get(key, opts); }
  put(key: string, body: Body, opts?: PutOptions): Promise<PutResult> { return this.route(key).put(key, body, opts); }
  openMultipart(key: string, opts?: MultipartOptions): Promise<MultipartUpload> { return this.route(key).openMultipart(key, opts); }
  /** The identity of the store that holds `key` (its credentials write it); without a key, the meta store's. */
  identity(key?: string): Promise<Principal> { return (key === undefined ? this.stores.meta : this.route(key)).identity(key); }
  async delete(keys: readonly string[], opts?: RequestOptions): Promise<void> {
    for (const role of ['blobs', 'meta', 'wal', 'readlog'] as const) {
      const mine = keys.filter((k) => roleOf(k) === role);
      if (mine.length) await this.stores[role].delete(mine, opts);
    }
  }
}

/** Where a store keeps each role: `url` holds the metadata and every role not given. */
export interface RoleUrls {
  url: string;
  stores?: Partial<Record<Exclude<Role, 'meta'>, string>>;
}

/**
 * The store at `url`, or a routing store over it when some roles (blobs, wal, readlog) live elsewhere. Each
 * physical store is opened once with `opts`; USAGE on a URL that cannot be opened.
 */
export function openRoutedStorage(roles: RoleUrls, opts: OpenOptions = {}): Storage {
  const meta = openStorage(roles.url, opts);
  const { blobs, wal, readlog } = roles.stores ?? {};
  if (!blobs && !wal && !readlog) return meta;
  const other = (url?: string) => (url ? openStorage(url, opts) : meta);
  return new RoutingStorage({ meta, blobs: other(blobs), wal: other(wal), readlog: other(readlog) });
}
