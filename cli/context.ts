/** What every command action gets: the store, the contributor, and how to report and print. */
import { DatamoverError, usageError } from '../engine/errors.js';
import type { Reporter } from '../engine/events.js';
import { resolveContributor } from '../engine/meta/contributor.js';
import { openFormat } from '../engine/meta/format.js';
import { getRepo } from '../engine/meta/repos.js';
import { openStorage } from '../engine/storage/open.js';
import { RoutingStorage } from '../engine/storage/routing.js';
import { type ContextConfig, resolveContext } from './config.js';
import type { Storage } from '../engine/storage/storage.js';
import type { Contributor } from '../engine/vocab.js';
import { makeReporter } from './render.js';

export interface GlobalOptions {
  store?: string;
  endpoint?: string;
  context?: string;
  json?: boolean;
  quiet?: boolean;
  concurrency?: string;
  workers?: string;
  author?: string;
}

export class CommandContext {
  readonly report: Reporter;
  readonly stopProgress: () => void;
  private storage?: Storage;

  constructor(readonly command: string, readonly opts: GlobalOptions) {
    const r = makeReporter({ json: !!opts.json, quiet: !!opts.quiet });
    this.report = r.report;
    this.stopProgress = r.stop;
  }

  /** `--store`, then DATAMOVER_STORE, then the context (`--context`, DATAMOVER_CONTEXT, `context use`, default). */
  get store(): Storage {
    if (this.storage) return this.storage;
    const url = this.opts.store || process.env.DATAMOVER_STORE;
    if (url) return (this.storage = openStorage(url, { endpoint: this.opts.endpoint }));
    return (this.storage = openContextStorage(this.context().context, this.opts.endpoint));
  }

  /** The store, checked to be a datamover store holding `repo`: FORMAT, NOT_FOUND otherwise. */
  async openRepo(repo: string): Promise<Storage> {
    await openFormat(this.store, false);
    await getRepo(this.store, repo);
    return this.store;
  }

  context(): { name: string; context: ContextConfig } {
    return resolveContext(this.opts.context);
  }

  contributor(): Contributor {
    const needsContext = !this.opts.author && !process.env.DATAMOVER_AUTHOR && !this.opts.store && !process.env.DATAMOVER_STORE;
    const ctx = needsContext ? this.context() : undefined;
    const configured = ctx?.context.author ? { value: ctx.context.author, source: `context ${ctx.name} author` } : undefined;
    return resolveContributor(this.opts.author, process.env, configured);
  }

  intOption(name: 'concurrency' | 'workers'): number | undefined {
    return positiveInt(this.opts[name], `--${name}`);
  }

  /** Prints the command's result: the summary object with --json, else the human text (unless --quiet). */
  done(summary: Record<string, unknown>, human: string | string[]): void {
    this.stopProgress();
    if (this.opts.json) {
      process.stdout.write(`${JSON.stringify({ type: 'summary', command: this.command, ok: true, ...summary })}\n`);
    } else if (!this.opts.quiet || this.command === 'bundle upload') {
      const lines = Array.isArray(human) ? human : [human];
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
    }
  }
}

/** Parses a positive integer flag value; fails with USAGE naming the flag. */
export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw usageError(`${flag}: expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses a byte size like `64MiB`, `16M`, `1048576`; fails with USAGE naming the flag. */
export function byteSize(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\s*(k|ki|kib|m|mi|mib|g|gi|gib)?$/i.exec(value.trim());
  if (!m) throw new DatamoverError('USAGE', `${flag}: expected a size like 64MiB, got ${JSON.stringify(value)}`);
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 2 ** 10 : unit === 'm' ? 2 ** 20 : unit === 'g' ? 2 ** 30 : 1;
  return Number(m[1]) * scale;
}

/** One store, or a routing store when the context puts some roles (blobs, wal, readlog) elsewhere. */
export function openContextStorage(context: ContextConfig, endpointFlag?: string): Storage {
  const endpoint = endpointFlag ?? context.endpoint;
  const meta = openStorage(context.store, { endpoint });
  const roles = context.stores ?? {};
  if (!roles.blobs && !roles.wal && !roles.readlog) return meta;
  const other = (url?: string) => (url ? openStorage(url, { endpoint }) : meta);
  return new RoutingStorage({ meta, blobs: other(roles.blobs), wal: other(roles.wal), readlog: other(roles.readlog) });
}
