/** What every command action gets: the store, the contributor, and how to report and print. */
import { readFileSync } from 'node:fs';
import {
  type Contributor, DatamoverError, InputError, type OpenOptions, type RecordSigner, type Reporter, type Repo, type Store,
  type StoreOptions, loadSigner, openStore, resolveContributor, usageError,
} from '../engine/index.js';
import { type ContextConfig, resolveContext } from './config.js';
import { interruptSignal } from './interrupt.js';
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
  timeout?: string;
  retries?: string;
  retryDeadline?: string;
  signKey?: string;
}

export class CommandContext {
  readonly report: Reporter;
  /** Ends the progress view (once); `completed` when the command succeeded. */
  readonly stopProgress: (completed?: boolean) => void;
  private opened?: Promise<Store>;

  constructor(readonly command: string, readonly opts: GlobalOptions) {
    const r = makeReporter({ json: !!opts.json, quiet: !!opts.quiet });
    this.report = r.report;
    this.stopProgress = r.stop;
  }

  /**
   * The run's AbortSignal (SIGINT/SIGTERM), for the engine calls of a command that stops cleanly on it. A
   * command that never asks for it is ended at once by the signal (cli/interrupt.ts).
   */
  get signal(): AbortSignal {
    return interruptSignal();
  }

  /** Checks the global numeric flags once, whether or not the command uses them: USAGE naming the flag. */
  checkGlobalFlags(): void {
    this.intOption('workers');
    this.intOption('concurrency');
    this.openOptions();
  }

  /** `--store`, then DATAMOVER_STORE, then the context (`--context`, DATAMOVER_CONTEXT, `context use`, default). */
  store(): Promise<Store> {
    this.opened ??= openStore({ ...this.storeOptions(), signer: this.signer() });
    return this.opened;
  }

  /** The key that signs the records this command writes: `--sign-key`, then DATAMOVER_SIGN_KEY (docs/audit.md). */
  private signer(): RecordSigner | undefined {
    const file = this.opts.signKey || process.env.DATAMOVER_SIGN_KEY;
    return file === undefined || file === '' ? undefined : loadSigner(readKeyFile(file, 'sign-key'), file);
  }

  /** Repo `name` of the store, checked to exist: FORMAT, NOT_FOUND otherwise. */
  async repo(name: string): Promise<Repo> {
    const repo = (await this.store()).repo(name);
    await repo.describe();
    return repo;
  }

  /** A store other than the command's own (e.g. `copy`'s source and destination), with the global flags. */
  openUrl(url: string): Promise<Store> {
    return openStore({ url, ...this.openOptions() });
  }

  private storeOptions(): StoreOptions {
    const url = this.opts.store || process.env.DATAMOVER_STORE;
    if (url) return { url, ...this.openOptions() };
    const context = this.context().context;
    const opts = this.openOptions();
    return { url: context.store, stores: context.stores, ...opts, endpoint: opts.endpoint ?? context.endpoint };
  }

  /** Endpoint, idle timeout and retry policy from the global flags; retries are reported as events. */
  private openOptions(): OpenOptions {
    const retries = boundedInt(this.opts.retries, '--retries', FLAG_MAXIMA.retries, 0);
    const deadlineMs = duration(this.opts.retryDeadline, '--retry-deadline');
    return {
      endpoint: this.opts.endpoint,
      idleTimeoutMs: duration(this.opts.timeout, '--timeout'),
      retry: {
        ...(retries === undefined ? {} : { attempts: retries + 1 }),
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
        onRetry: (op, attempt, err) => this.report({ type: 'retry', op, attempt, error: errorMessage(err) }),
      },
    };
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
    return boundedInt(this.opts[name], `--${name}`, FLAG_MAXIMA[name]);
  }

  /**
   * Prints the command's result: the summary object with --json, else the human text. --quiet never hides a
   * result (only progress): a script reads it.
   */
  done(summary: Record<string, unknown>, human: string | string[]): void {
    this.stopProgress(true);
    if (this.opts.json) {
      process.stdout.write(`${JSON.stringify({ type: 'summary', command: this.command, ok: true, ...summary })}\n`);
    } else {
      const lines = Array.isArray(human) ? human : [human];
      if (lines.length) process.stdout.write(`${lines.join('\n')}\n`);
    }
  }
}

/** The bytes of a key file; USAGE (an InputError of `field`) naming it when it cannot be read. */
export function readKeyFile(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new InputError(field, file, `cannot be read (${(err as Error).message})`);
  }
}

/**
 * The largest values the numeric flags take (README "Commands"): beyond them a typo would start threads or
 * connections until memory runs out, or retry for days.
 */
export const FLAG_MAXIMA = { workers: 256, concurrency: 1024, retries: 10_000 } as const;

/** Parses an integer flag value in [min, max]; fails with USAGE naming the flag and the range. */
export function boundedInt(value: string | undefined, flag: string, max: number, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || n < min || n > max) {
    throw usageError(`${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
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

/**
 * Parses a duration like `30s`, `2m`, `12h`, `7d`, `1w`, `500ms` or plain seconds into milliseconds, at least
 * `minMs` and at most `maxMs`; fails with USAGE naming the flag.
 */
export function duration(value: string | undefined, flag: string, minMs = 1, maxMs = Infinity): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?$/i.exec(value.trim());
  const scale = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[(m?.[2] ?? 's').toLowerCase() as 'ms'];
  const ms = m ? Number(m[1]) * scale : NaN;
  if (!(ms >= minMs && ms <= maxMs)) throw usageError(`${flag}: expected a duration like 30s, 2m, 12h, 7d or 500ms${maxMs < Infinity ? ` up to ${maxMs / 86_400_000}d` : ''}, got ${JSON.stringify(value)}`);
  return Math.round(ms);
}

/** Commander's accumulator for a repeatable option: each value appended to those before. */
export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
