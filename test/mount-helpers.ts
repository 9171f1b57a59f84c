/**
 * Shared by the mount tests: `bundle mount` through the binary as a child process (ready when its
 * `mount.ready` event is out), stores made with `bundle upload`, and the checks around them. Needs /dev/fuse
 * and root to be of use (`mountSkipReason`).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, cli, cliAsync, summaryOf, tempDir } from './helpers.js';

/** Why mount tests cannot run here, or undefined when they can. */
export const mountSkipReason = !existsSync('/dev/fuse') ? 'no /dev/fuse' : process.getuid?.() !== 0 ? 'not root' : undefined;

export interface Mounted { pid: number; stdout: () => string; ended: Promise<CliResult>; stop: (signal?: NodeJS.Signals) => Promise<CliResult> }
const running: Mounted[] = [];

/** Starts `bundle mount` with --json and waits for its ready event; fails with its stderr if it ends first. */
export async function mount(store: string, mnt: string, ref: string, extra: string[] = []): Promise<Mounted> {
  const child = cliAsync(['--store', store, '--json', 'bundle', 'mount', mnt, ref, '--repo', 'r', ...extra]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ended = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr })));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', () => { if (stdout.includes('"mount.ready"')) resolve(); });
    void ended.then((r) => reject(new Error(`mount ended (${r.code}) before it was ready: ${r.stderr}`)));
  });
  await ready;
  const m: Mounted = {
    pid: child.pid!, stdout: () => stdout, ended,
    stop: (signal = 'SIGTERM') => { child.kill(signal); return ended; },
  };
  running.push(m);
  return m;
}

/** Kills every mount still running (a suite's `after`: a failed test must not leave a mount behind). */
export function killMounts(): void {
  for (const m of running) m.stop('SIGKILL').catch(() => undefined);
}

export function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);
}

/** A new local store with repo `r` holding `src` uploaded as label `v1`. */
export function newStore(src: string, extra: string[] = []): { store: string; id: string } {
  const store = path.join(tempDir('mnt-store'), 'store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'v1', ...extra]);
  assert.is(up.code, 0, up.stderr);
  return { store, id: summaryOf(up.stdout).bundle };
}

/** A new empty directory to mount on. */
export function emptyDir(tag: string): string {
  const dir = path.join(tempDir(tag), 'mnt');
  mkdirSync(dir);
  return dir;
}
