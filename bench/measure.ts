/** What every benchmark shares: where the built CLI is, and timing a command (with its peak RSS when /usr/bin/time exists). */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cli = path.join(repoRoot, 'dist', 'cli', 'main.js');

/** The value after `--name` on the command line, if any. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/**
 * `cpuSeconds`: user + system CPU time of the command and its children; `cpuPct`: the same over wall time
 * (200% = two cores busy). Both need /usr/bin/time.
 */
export interface Measure { seconds: number; rssMiB: number; cpuSeconds?: number; cpuPct?: number; stdout?: string }

/**
 * Runs `cmd` to completion and times it. `env` is added to `baseEnv` (default: this process's environment).
 * Throws naming the command when it fails or outlives `timeoutMs`.
 */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, opts: { baseEnv?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Measure {
  const useTime = existsSync('/usr/bin/time');
  const spawnOpts = { encoding: 'utf8' as const, env: { ...(opts.baseEnv ?? process.env), ...env }, timeout: opts.timeoutMs };
  const start = process.hrtime.bigint();
  const r = useTime ? spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], spawnOpts) : spawnSync(cmd, args, spawnOpts);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')} failed: ${(r.stderr ?? '').slice(-500)}`);
  if (!useTime) return { seconds, rssMiB: NaN, stdout: r.stdout };
  const [rssKiB, user, sys] = (r.stderr.trim().split('\n').pop() ?? '').split(' ').map(Number) as [number, number, number];
  return { seconds, rssMiB: rssKiB / 1024, cpuSeconds: user + sys, cpuPct: ((user + sys) / seconds) * 100, stdout: r.stdout };
}

/** The run of median time. */
export function median(xs: Measure[]): Measure {
  return [...xs].sort((a, b) => a.seconds - b.seconds)[Math.floor(xs.length / 2)]!;
}

export const resultsFile = path.join(repoRoot, 'bench', 'RESULTS.md');
const CLOUD_HEADING = '## Cloud (`npm run bench:cloud`)';

/** bench/RESULTS.md as the local tables and the cloud section (each '' when absent). */
function resultsParts(): { local: string; cloud: string } {
  const text = existsSync(resultsFile) ? readFileSync(resultsFile, 'utf8') : '';
  const at = text.indexOf(CLOUD_HEADING);
  return at < 0 ? { local: text, cloud: '' } : { local: text.slice(0, at), cloud: text.slice(at) };
}

/** The cloud section of bench/RESULTS.md ('' when it has none): `npm run bench` keeps it when it rewrites the file. */
export function cloudSection(): string {
  return resultsParts().cloud;
}

/** Replaces (or adds) the cloud section of bench/RESULTS.md with `lines`. */
export function resultsWithCloud(lines: string[]): void {
  const local = resultsParts().local.trimEnd() || '# Benchmark results';
  writeFileSync(resultsFile, `${local}\n\n${CLOUD_HEADING}\n\n${lines.join('\n')}\n`);
}
