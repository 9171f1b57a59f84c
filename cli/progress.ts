/**
 * Progress a person reads, on stderr: a bar on a terminal, plain lines elsewhere. Both say how far a transfer is
 * against its total (an upload's tree as counted ahead of its hashing, a download's bundle), with an ETA once
 * the total is known, in lines that fit the terminal's width.
 */
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { EngineEvent } from '../engine/index.js';

/** A progress view: takes events, and is stopped once (`completed`: the command succeeded, so it is at 100%). */
export interface ProgressView { take(e: EngineEvent): void; stop(completed?: boolean): void }

/** What the views show, taken from the events. */
export class ProgressState {
  done = 0;
  total?: number;
  status?: string;
  private readonly started = Date.now();

  /** Takes an event; true when it changed what is shown. */
  take(e: EngineEvent): boolean {
    switch (e.type) {
      case 'scan.done': case 'download.plan':
        this.total = e.bytes;
        return this.status !== undefined;
      case 'upload.progress':
        this.done = e.bytesHashed + e.unchangedBytes;
        this.status = `${e.filesDone} files, ${mib(e.newBytes)} new, ${mib(e.dedupBytes)} dedup`;
        return true;
      case 'download.progress':
        this.done = e.bytesDone;
        this.status = `${e.filesDone} files, ${e.skipped} already complete`;
        return true;
      default:
        return false;
    }
  }

  /** The work is done: at its total (a download's complete files are not counted as bytes done). */
  complete(): void {
    if (this.total !== undefined) this.done = this.total;
  }

  /** One line of at most `width` characters: a bar (`withBar`, when there is room), percentage, bytes, ETA, the status. */
  line(width: number, withBar = true): string {
    const rest = this.status ? ` | ${this.status}` : '';
    if (this.total === undefined) return `${mib(this.done)} (counting the total)${rest}`.slice(0, width);
    const fraction = this.total > 0 ? Math.min(this.done / this.total, 1) : 1;
    const head = `${Math.floor(fraction * 100)}% ${mib(this.done)} of ${mib(this.total)}, ETA ${this.eta(fraction)}`;
    const barWidth = Math.min(30, width - head.length - rest.length - 1);
    const bar = withBar && barWidth >= 10 ? `${'█'.repeat(Math.round(fraction * barWidth)).padEnd(barWidth, '░')} ` : '';
    return `${bar}${head}${rest}`.slice(0, width);
  }

  /** Time left at the average rate so far: `m:ss`, `h:mm:ss`, or `--:--` before there is a rate. */
  private eta(fraction: number): string {
    if (fraction >= 1) return '0:00';
    const seconds = (Date.now() - this.started) / 1000;
    if (!this.done || seconds < 0.5) return '--:--';
    const left = Math.round((seconds / this.done) * (this.total! - this.done));
    const [h, m, s] = [Math.floor(left / 3600), Math.floor(left / 60) % 60, left % 60];
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }
}

/** A bar redrawn in place (cli-progress), cleared when stopped. */
export function barView(): ProgressView {
  const state = new ProgressState();
  // Loaded here, on a terminal only: a command run by a script or with --json never pays for it at startup.
  const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof cliProgress;
  const bar = new SingleBar({
    format: (_options, params) => state.line(Math.max(params.maxWidth - 1, 20)), hideCursor: true, clearOnComplete: true,
  });
  let started = false;
  let stopped = false;
  return {
    take: (e) => {
      if (stopped || !state.take(e)) return;
      if (!started) { bar.start(1, 0); started = true; }
      bar.update(0); // the line is drawn from the state; cli-progress paces the redraws
    },
    stop: (completed) => {
      if (stopped) return;
      stopped = true;
      if (completed) state.complete();
      if (started) bar.stop(); // draws the last frame, then clears it
    },
  };
}

/**
 * Lines for a log or a pipe: the first once the transfer has run `firstMs` (from its first progress event), then
 * one every `everyMs`, and the last one once, when stopped after success. A transfer over within `firstMs` shows
 * no progress: its result (or its one error line) says it all.
 */
export function lineView(firstMs = 1_000, everyMs = 5_000): ProgressView {
  const state = new ProgressState();
  const width = process.stderr.columns ?? process.stdout.columns ?? Infinity;
  let last: number | undefined;
  let printed: string | undefined;
  let stopped = false;
  const print = () => {
    const line = state.line(width, false);
    if (line !== printed) process.stderr.write(`${line}\n`);
    printed = line;
    last = Date.now();
  };
  return {
    take: (e) => {
      if (stopped || !state.take(e) || state.status === undefined) return;
      last ??= Date.now() - everyMs + firstMs;
      if (Date.now() - last >= everyMs) print();
    },
    stop: (completed) => {
      if (stopped) return;
      stopped = true;
      // A failure's error line is the last word; a run too short for a first line needs no last one.
      if (!completed || printed === undefined) return;
      state.complete();
      print();
    },
  };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}
