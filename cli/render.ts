/**
 * Renders engine events: NDJSON with --json; otherwise progress (cli/progress.ts: a bar on a TTY, plain lines
 * elsewhere; none with --quiet) and one line per warning. Progress goes to stderr, results to stdout, so
 * `datamover ... > file` stays clean.
 */
import type { EngineEvent, Reporter } from '../engine/index.js';
import { barView, lineView } from './progress.js';
import { quoteName } from './quote.js';

export interface OutputMode { json: boolean; quiet: boolean }

/** `stop(completed)`: ends the progress view once; `completed` when the command succeeded (its view ends at 100%). */
export function makeReporter(mode: OutputMode): { report: Reporter; stop: (completed?: boolean) => void } {
  if (mode.json) return { report: (e) => process.stdout.write(`${JSON.stringify(e)}\n`), stop: () => undefined };
  const view = mode.quiet ? undefined : process.stderr.isTTY ? barView() : lineView(firstLineDelay());
  return {
    report: (e) => {
      warn(e);
      if (!mode.quiet) notice(e);
      view?.take(e);
    },
    stop: (completed) => view?.stop(completed),
  };
}

/**
 * How long a transfer runs before its first progress line off a terminal: DATAMOVER_PROGRESS_DELAY_MS (0: at
 * once), else a second.
 */
function firstLineDelay(): number {
  const ms = Number(process.env.DATAMOVER_PROGRESS_DELAY_MS);
  return process.env.DATAMOVER_PROGRESS_DELAY_MS && Number.isInteger(ms) && ms >= 0 ? ms : 1_000;
}

/** Warnings are printed even with --quiet: one stderr line each. */
function warn(e: EngineEvent): void {
  if (e.type === 'readlog.unwritten') {
    process.stderr.write(`datamover: warning: the ${e.read} of bundle ${e.bundle} succeeded but could not be recorded in the read log: ${e.error}\n`);
  }
  if (e.type === 'read.damaged') {
    process.stderr.write(`datamover: warning: ${quoteName(e.path)} of bundle ${e.bundle}: chunk ${e.chunk} ${e.reason}; the read failed\n`);
  }
}

/** What a run met on its way, one stderr line each (not with --quiet). */
function notice(e: EngineEvent): void {
  if (e.type === 'scan.skip') process.stderr.write(`skipped ${quoteName(e.path)}: ${e.reason}\n`);
  if (e.type === 'xattr.warning') process.stderr.write(`warning: ${e.path ? `${quoteName(e.path)}: ` : ''}${e.reason}\n`);
  if (e.type === 'retry' && !process.stderr.isTTY) process.stderr.write(`retrying ${e.op} (attempt ${e.attempt}): ${e.error}\n`);
}
