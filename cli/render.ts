/**
 * Renders engine events: NDJSON with --json; a cli-progress bar on a TTY; otherwise one plain line every few
 * seconds. Progress goes to stderr, results to stdout, so `datamover ... > file` stays clean.
 */
import cliProgress from 'cli-progress';
import type { EngineEvent, Reporter } from '../engine/index.js';
import { quoteName } from './quote.js';

export interface OutputMode { json: boolean; quiet: boolean }

export function makeReporter(mode: OutputMode): { report: Reporter; stop: () => void } {
  if (mode.json) return { report: (e) => process.stdout.write(`${JSON.stringify(e)}\n`), stop: () => undefined };
  const inner = mode.quiet ? { report: () => undefined, stop: () => undefined } : process.stderr.isTTY ? barReporter() : lineReporter();
  return { report: (e) => { warn(e); inner.report(e); }, stop: inner.stop };
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

function describe(e: EngineEvent): string | undefined {
  switch (e.type) {
    case 'upload.progress': return `${e.filesDone} files, ${mib(e.bytesHashed)} hashed, ${mib(e.newBytes)} new, ${mib(e.dedupBytes)} deduplicated`;
    case 'download.progress': return `${e.filesDone} files, ${mib(e.bytesDone)} written, ${e.skipped} already complete`;
    default: return undefined;
  }
}

function lineReporter(): { report: Reporter; stop: () => void } {
  let last = Date.now();
  let printed = false;
  let pending: string | undefined;
  const report: Reporter = (e) => {
    if (e.type === 'scan.skip') process.stderr.write(`skipped ${quoteName(e.path)}: ${e.reason}\n`);
    if (e.type === 'xattr.warning') process.stderr.write(`warning: ${e.path ? `${quoteName(e.path)}: ` : ''}${e.reason}\n`);
    if (e.type === 'retry') process.stderr.write(`retrying ${e.op} (attempt ${e.attempt}): ${e.error}\n`);
    const line = describe(e);
    if (!line) return;
    pending = line;
    if (Date.now() - last >= 5_000) {
      last = Date.now();
      printed = true;
      process.stderr.write(`${line}\n`);
      pending = undefined;
    }
  };
  return { report, stop: () => { if (pending && printed) process.stderr.write(`${pending}\n`); } };
}

function barReporter(): { report: Reporter; stop: () => void } {
  const bar = new cliProgress.SingleBar({
    format: '{bar} {percentage}% | {value}/{total} MiB | {status}', hideCursor: true, clearOnComplete: true,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  const report: Reporter = (e) => {
    if (e.type === 'download.plan' && !started) { bar.start(Math.ceil(e.bytes / 2 ** 20), 0, { status: '' }); started = true; }
    if (e.type === 'scan.skip') process.stderr.write(`skipped ${quoteName(e.path)}: ${e.reason}\n`);
    if (e.type === 'xattr.warning') process.stderr.write(`warning: ${e.path ? `${quoteName(e.path)}: ` : ''}${e.reason}\n`);
    const status = describe(e);
    if (!status) return;
    if (!started) { bar.start(0, 0, { status }); started = true; }
    const done = e.type === 'upload.progress' ? e.bytesHashed : e.type === 'download.progress' ? e.bytesDone : 0;
    if (e.type === 'upload.progress') bar.setTotal(Math.max(Math.ceil(done / 2 ** 20), 1));
    bar.update(Math.floor(done / 2 ** 20), { status });
  };
  return { report, stop: () => { if (started) bar.stop(); } };
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
