/**
 * SIGINT, SIGTERM and SIGHUP: the first aborts the run's one AbortSignal and prints one line on stderr; the
 * command that took the signal (`interruptSignal`) stops, cleans up and ends with INTERRUPTED (exit 130). A
 * command that never took it has nothing to undo and ends at once, as does any run on a second signal.
 */
import { EXIT } from './exit-codes.js';

const controller = new AbortController();
let taken = false;

/** The run's signal. Taking it is a promise to stop on it: the process is then not ended by the first signal. */
export function interruptSignal(): AbortSignal {
  taken = true;
  return controller.signal;
}

/** Whether the run was interrupted. */
export function wasInterrupted(): boolean {
  return controller.signal.aborted;
}

/** The summary line a `--json` run ends with when interrupted. */
export function interruptedSummary(command?: string): string {
  return `${JSON.stringify({ type: 'summary', ...(command ? { command } : {}), ok: false, interrupted: true, error: { code: 'INTERRUPTED', message: 'interrupted' }, exitCode: EXIT.interrupted })}\n`;
}

/** Installs the handlers. `json`: whether the run ends with a summary line (read when a signal arrives). */
export function handleInterrupts(json: () => boolean): void {
  const onSignal = () => {
    if (controller.signal.aborted || !taken) {
      if (!controller.signal.aborted) process.stderr.write('datamover: interrupted\n');
      if (json()) process.stdout.write(interruptedSummary());
      process.exit(EXIT.interrupted);
    }
    process.stderr.write('datamover: interrupted, cleaning up (interrupt again to stop at once)\n');
    controller.abort();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
}
