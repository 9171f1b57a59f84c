/** Interrupting the binary mid-run with SIGINT/SIGTERM, once its work is under way. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliAsync, seededBytes, tempDir, writeFile } from './helpers.js';

export interface Interrupted {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The NDJSON events the run printed before it ended. */
  events: { type: string; [field: string]: unknown }[];
  /** Milliseconds from the last signal sent to the exit. */
  exitMs: number;
}

/**
 * Runs `datamover --json ...args`, waits until `ready()` holds (polled, and given every event as it comes), then
 * sends each of `signals`, `gapMs` apart. Fails when the run ends before it was ready.
 */
export async function interruptWhen(
  args: string[], ready: (events: Interrupted['events']) => boolean | Promise<boolean>,
  signals: NodeJS.Signals[], opts: { env?: Record<string, string>; gapMs?: number } = {},
): Promise<Interrupted> {
  const child = cliAsync(['--json', ...args], opts.env);
  const events: Interrupted['events'] = [];
  let stdout = '';
  let stderr = '';
  let buffered = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) events.push(JSON.parse(line) as Interrupted['events'][number]);
  });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (child.exitCode === null && !(await ready(events)) && Date.now() < deadline) await sleep(5);
  if (child.exitCode !== null) throw new Error(`the run ended (exit ${child.exitCode}) before it could be interrupted: ${stderr}`);
  let sentAt = 0;
  for (const [i, signal] of signals.entries()) {
    if (i) await sleep(opts.gapMs ?? 20);
    child.kill(signal);
    sentAt = Date.now();
  }
  const code = await exited;
  return { code, stdout, stderr, events, exitMs: Date.now() - sentAt };
}

/** Files (not directories) directly in `dir`, none when it does not exist. */
export function filesIn(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
}

/** Restore temp files (`.name.dm-tmp-...`) anywhere under `root`. */
export function restoreTempFiles(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((p) => path.basename(p).includes('.dm-tmp-'));
}

/** The lines a run printed on stderr. */
export const stderrLines = (r: { stderr: string }) => r.stderr.split('\n').filter((l) => l.length);

const sources = new Map<string, string>();
/** 120 MiB in 40 files of 3 MiB (seeded from `seed`), made once per tag: two 64 MiB packs of 16 MiB parts. */
export function bigSource(tag: string, seed: number): string {
  let source = sources.get(tag);
  if (source) return source;
  source = tempDir(tag);
  for (let i = 0; i < 40; i++) writeFile(source, `d${i % 3}/f${String(i).padStart(2, '0')}.bin`, seededBytes(seed + i, 3 * 1024 * 1024 + i));
  sources.set(tag, source);
  return source;
}
