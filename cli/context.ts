/** What every command action gets: the store, the contributor, and how to report and print. */
import { DatamoverError, usageError } from '../engine/errors.js';
import type { Reporter } from '../engine/events.js';
import { resolveContributor } from '../engine/meta/contributor.js';
import { defaultStorePath, openStorage } from '../engine/storage/open.js';
import type { Storage } from '../engine/storage/storage.js';
import type { Contributor } from '../engine/vocab.js';
import { makeReporter } from './render.js';

export interface GlobalOptions {
  store?: string;
  endpoint?: string;
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

  get store(): Storage {
    this.storage ??= openStorage(this.opts.store || process.env.DATAMOVER_STORE || defaultStorePath(), { endpoint: this.opts.endpoint });
    return this.storage;
  }

  contributor(): Contributor {
    return resolveContributor(this.opts.author);
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
