/** Runs a pipeline step's command as a child process and reports how it ended. */
import { type StdioOptions, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { errnoCode } from '../errors.js';

/** How the command ended: its exit status as a shell reports it (128+n after signal n), and the wall-clock time. */
export type CommandEnd =
  | { started: true; exitStatus: number; signal?: NodeJS.Signals; seconds: number }
  /** It could not be started: 127 when not found, 126 otherwise (as `env` and `timeout` report it). */
  | { started: false; exitStatus: 126 | 127; error: string; seconds: number };

/**
 * Runs `argv` with `env` and `stdio` and waits for it to end. When `signal` aborts, the child is sent SIGINT
 * (once) and still awaited: its end is reported, never left running behind us. Never throws.
 */
export function runCommand(argv: readonly string[], opts: { env: NodeJS.ProcessEnv; stdio: StdioOptions; cwd?: string; signal?: AbortSignal }): Promise<CommandEnd> {
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: opts.env, stdio: opts.stdio, cwd: opts.cwd });
    const forward = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT'); };
    opts.signal?.addEventListener('abort', forward, { once: true });
    const settle = (end: CommandEnd) => {
      opts.signal?.removeEventListener('abort', forward);
      resolve(end);
    };
    child.once('error', (err) => {
      // 'error' without a pid: the command never started. With one (a failed kill), 'close' still follows.
      if (child.pid !== undefined) return;
      const code = errnoCode(err);
      settle({ started: false, exitStatus: code === 'ENOENT' ? 127 : 126, error: `${argv[0]}: ${code ?? err.message}`, seconds: seconds() });
    });
    child.once('close', (code, signal) => {
      if (child.pid === undefined) return;
      if (signal) settle({ started: true, exitStatus: 128 + (constants.signals[signal] ?? 0), signal, seconds: seconds() });
      else settle({ started: true, exitStatus: code ?? 1, seconds: seconds() });
    });
  });
}
