/**
 * Runs test files as child processes in parallel lanes. Each file is a standalone uvu program (it runs its suites
 * when imported outside `uvu/run`), so a lane is only a queue of `node <file>` runs; a file's output is printed
 * whole when it ends, so lanes never interleave lines. Files that share the S3/GCS test servers run one at a
 * time (in one lane) because some of them measure or fault the connection to those servers.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

export interface FileResult { file: string; total: number; passed: number; skipped: number; ms: number; crashed?: string }

/** Long files first, so the lanes end together; the rest keep their alphabetical order. */
const LONG_FIRST = ['cloud-gc', 'gc-kill', 'kill.test', 'mutation', 'cloud-e2e', 'mount', 'cloud.test', 'gc-concurrency',
  'interrupt.test', 'web-ui', 'corruption-matrix', 'hostile-tree', 'serve.test', 'lineage', 'upload-workflows'];

function rank(file: string): number {
  const i = LONG_FIRST.findIndex((name) => file.startsWith(name));
  return i < 0 ? LONG_FIRST.length : i;
}

/** The files in the order lanes take them. */
export function schedule(files: readonly string[]): string[] {
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');
const count = (text: string, label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(text)?.[1] ?? NaN);

/** Runs one file; a run that ends without uvu's totals (a crash, a kill) counts as one failed test. */
function runFile(dir: string, file: string, print: (text: string) => void): Promise<FileResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, file)], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('close', (code, signal) => {
      const ms = Date.now() - started;
      const text = plain(out);
      const total = count(text, 'Total');
      const result: FileResult = Number.isNaN(total)
        ? { file, total: 1, passed: 0, skipped: 0, ms, crashed: `exited ${signal ?? code} without uvu's totals` }
        : { file, total, passed: count(text, 'Passed'), skipped: count(text, 'Skipped') || 0, ms };
      if (result.crashed === undefined && code !== 0 && result.passed === result.total) {
        result.crashed = `exited ${code} after its tests passed`;
        result.total += 1;
      }
      print(`\n── ${file} (${(ms / 1000).toFixed(1)} s${result.crashed ? `, ${result.crashed}` : ''})\n${out.trimEnd()}\n`);
      resolve(result);
    });
  });
}

/** Runs `files` (names in `dir`) in `lanes` parallel lanes, files named `cloud*` one at a time. */
export async function runLanes(dir: string, files: readonly string[], lanes: number, print: (text: string) => void): Promise<FileResult[]> {
  const queue = schedule(files);
  const results: FileResult[] = [];
  let cloudBusy = false;
  const next = (): string | undefined => {
    const i = queue.findIndex((f) => !f.startsWith('cloud') || !cloudBusy);
    return i < 0 ? undefined : queue.splice(i, 1)[0];
  };
  const waiters: (() => void)[] = [];
  const lane = async (): Promise<void> => {
    while (queue.length > 0) {
      const file = next();
      if (file === undefined) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      const cloud = file.startsWith('cloud');
      if (cloud) cloudBusy = true;
      results.push(await runFile(dir, file, print));
      if (cloud) cloudBusy = false;
      waiters.splice(0).forEach((wake) => wake());
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, lanes) }, lane));
  return results;
}
