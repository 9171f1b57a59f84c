/**
 * The seeded mutation test (issue 13, "Done when"): while an upload runs through the binary, files are rewritten
 * in place (same size), grown, truncated, deleted, swapped for a FIFO and directories renamed, at random moments.
 * Every run must fail naming a file it changed (exit 1), or report exactly the files it left out (exit 3 with
 * --skip-on-error), or commit a bundle whose every file is one whole version of that file: never a torn file,
 * never a silently missing one. Runs alternate between both modes.
 *
 * DATAMOVER_MUTATION_SEED repeats a run (the seed is printed, and named on failure); DATAMOVER_MUTATION_RUNS
 * sets the number of runs (20); DATAMOVER_MUTATION_KINDS (comma-separated: rewrite, grow, truncate, delete, fifo,
 * rename) only those mutations.
 */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type CliResult, cli, cliAsync, seededBytes, summaryOf, tempDir } from './helpers.js';
import { MUTATION_KINDS, MutatedTree, rng } from './mutator.js';

const t = suite('mutation: files changed at random moments while an upload runs');
const MiB = 1024 * 1024;
const seed = Number(process.env.DATAMOVER_MUTATION_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.DATAMOVER_MUTATION_RUNS ?? 20);
const KINDS = process.env.DATAMOVER_MUTATION_KINDS?.split(',') ?? MUTATION_KINDS;
const SMALL_FILES = 80;
const LARGE_FILES = 3;

interface Run { code: number; stdout: string; stderr: string; ms: number }

/** Uploads `src` as label `label`, calling `during` at each of `moments` (ms after the start) while it runs. */
async function upload(store: string, src: string, label: string, skip: boolean, moments: number[], during: () => void): Promise<Run> {
  const started = Date.now();
  const child = cliAsync(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', label, ...(skip ? ['--skip-on-error'] : [])]);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const timers = moments.map((ms) => setTimeout(during, ms));
  const hang = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c, signal) => resolve(c ?? (signal ? 128 : 1))));
  for (const timer of [...timers, hang]) clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** What is wrong with one run's outcome; empty when it is one of the three allowed ones. */
function judge(store: string, tree: MutatedTree, label: string, skip: boolean, run: Run): string[] {
  if (run.code === 1 && !skip) {
    const named = /cannot (?:read|list)(?: directory| link)? (\/.*?): /.exec(run.stderr)?.[1];
    const rel = named === undefined ? undefined : path.relative(tree.root, named);
    const problems = rel !== undefined && tree.touched(rel) ? [] : [`exit 1 naming no file the mutator touched: ${run.stderr.trim()}`];
    if (cli(['--store', store, 'label', 'get', label, '--repo', 'r']).code === 0) problems.push('exit 1, yet the label was set');
    return problems;
  }
  if (run.code !== 0 && !(run.code === 3 && skip)) return [`exit ${run.code}: ${run.stderr.trim()}`];
  const skipped: string[] = summaryOf(run.stdout).skipped.map((f: { path: string }) => f.path);
  if ((run.code === 3) !== (skipped.length > 0)) return [`exit ${run.code} with ${skipped.length} skipped`];
  const dest = tempDir('mut-dest');
  const down: CliResult = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', label, '--sync', 'none']);
  if (down.code !== 0) return [`download failed: ${down.stderr.trim()}`];
  return tree.checkBundle(dest, skipped);
}

t(`every run fails naming a changed file, reports exactly its skips, or stores whole versions (seed ${seed})`, async () => {
  console.log(`  mutation seed ${seed} (DATAMOVER_MUTATION_SEED=${seed} repeats it), ${RUNS} runs of ${KINDS.join(', ')}`);
  const pool = seededBytes(seed, 16 * MiB);
  const store = tempDir('mut-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  // An unchanged tree first: round-trips exactly, and times an upload, the window mutations are spread over.
  const quiet = new MutatedTree(tempDir('mut-src'), pool, rng(seed), SMALL_FILES, LARGE_FILES);
  const calibration = await upload(store, quiet.root, 'quiet', false, [], () => undefined);
  assert.equal(judge(store, quiet, 'quiet', false, calibration), [], calibration.stderr);
  assert.is(calibration.code, 0);
  const window = calibration.ms;
  const outcomes = new Map<string, number>();
  for (let i = 0; i < RUNS; i++) {
    const random = rng(seed + 7919 * (i + 1));
    const skip = i % 2 === 1;
    const tree = new MutatedTree(tempDir('mut-src'), pool, random, SMALL_FILES, LARGE_FILES, KINDS);
    const moments = Array.from({ length: 2 + Math.floor(random() * 7) }, () => random() * window);
    const run = await upload(store, tree.root, `run${i}`, skip, moments, () => tree.mutate());
    const problems = judge(store, tree, `run${i}`, skip, run);
    if (problems.length) {
      assert.unreachable(`seed ${seed}, run ${i} (${skip ? '--skip-on-error' : 'strict'}, exit ${run.code}); mutations: ${tree.log.join('; ')}\n${problems.join('\n')}`);
    }
    const outcome = `exit ${run.code}`;
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  console.log(`  ${RUNS} runs (upload ${window} ms unmutated): ${[...outcomes].map(([k, n]) => `${n}× ${k}`).join(', ')}`);
});

t.run();
