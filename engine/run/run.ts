/**
 * A pipeline step (`datamover run`): download the inputs, run a command, and when it succeeds upload each output
 * directory as a bundle that records what it was made from (the inputs' ids), how (the command line, exit
 * status, duration) and by which run. The reads are logged with the run id, so a run's reads and writes join.
 * A command that fails commits nothing.
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { interruptedError } from '../cancel.js';
import { InputError, errnoCode, usageError } from '../errors.js';
import type { Reporter } from '../events.js';
import { newId } from '../meta/ids.js';
import type { Store } from '../store.js';
import type { Tuning } from '../upload/tuning.js';
import type { BundleDescriptor, BundleInput, Contributor, LabelRecord } from '../vocab.js';
import { type InputRef, resolveInputs } from './inputs.js';
import { checkRunId, runIdFromEnv } from './run-id.js';
import { type CommandEnd, runCommand } from './spawn.js';
import type { MountHandle } from '../read/mount.js';

/** An input of a step: a bundle (`<repo>@<ref>`) downloaded into (or mounted at) `dir` before the command runs. */
export interface StepInput extends InputRef { dir: string }
/** An output of a step: `dir`, uploaded to `repo` once the command succeeds, then `label` moved to it. */
export interface StepOutput { repo: string; dir: string; label?: string }

export interface StepRequest {
  inputs: StepInput[];
  outputs: StepOutput[];
  /** The command and its arguments (argv; no shell). */
  command: string[];
  contributor: Contributor;
  /** The run id; default: the identity found in `env` (run-id.ts `runIdFromEnv`), else a new ULID. */
  runId?: string;
  /** The outputs' message; default `run <id>: <command line>`. */
  message?: string;
  /** The command's environment before the step's variables are added (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The command's stdio (default: inherited). */
  stdio?: StdioOptions;
  cwd?: string;
  reporter?: Reporter;
  /** Aborting it sends the command SIGINT, waits for it to end, commits nothing and fails with INTERRUPTED. */
  signal?: AbortSignal;
  concurrency?: number;
  tuning?: Partial<Tuning>;
  /**
   * Mount each input read-only with FUSE (read/mount.ts) instead of downloading it: its directory must be
   * missing or empty. Every mount is unmounted once the command ends, however it ends (failure, abort), before
   * any output is uploaded.
   */
  mount?: boolean;
}

/** An input as downloaded: the bundle id its ref named, and where it is. */
export interface StepInputResult extends BundleInput { ref: string; dir: string }

export type StepResult = { runId: string; inputs: StepInputResult[]; end: CommandEnd } & (
  | { committed: true; outputs: { bundle: BundleDescriptor; label?: LabelRecord }[] }
  /** The command failed (or could not start): nothing was uploaded or committed. */
  | { committed: false }
);

/**
 * Runs one step (see the file comment). The command sees DATAMOVER_RUN_ID, DATAMOVER_INPUT_<n> and
 * DATAMOVER_OUTPUT_<n> (absolute directories, n from 0 in the order given), DATAMOVER_INPUT_<n>_BUNDLE (the id),
 * and DATAMOVER_INPUT_<REPO> / DATAMOVER_OUTPUT_<REPO> (the repo name upper-cased, other characters than letters
 * and digits as `_`) when only one input (output) has that name. Output directories are created if missing.
 * Errors, all before the command runs unless said: USAGE (no command, a directory given twice or nested in
 * another, a malformed ref or run id), NOT_FOUND (an output repo; an input as run/inputs.ts says), the
 * download's errors; after the command: BAD_INPUT (an output directory gone; nothing committed), the upload's.
 * Outputs are committed one by one: a failure uploading one leaves the ones before it committed.
 */
export async function runStep(store: Store, req: StepRequest): Promise<StepResult> {
  if (!req.command.length || !req.command[0]) throw usageError('run: no command given (put it after --)');
  const runId = checkRunId(req.runId ?? runIdFromEnv(req.env ?? process.env) ?? newId());
  checkDistinctDirs([...req.inputs.map((i) => ({ what: `input ${i.repo}@${i.ref}`, dir: i.dir })), ...req.outputs.map((o) => ({ what: `output ${o.repo}`, dir: o.dir }))]);
  for (const o of req.outputs) await store.repo(o.repo).describe();
  const inputs = await resolveEach(store, req.inputs);
  const mounts: MountHandle[] = [];
  let end: CommandEnd;
  try {
    for (const input of inputs) {
      if (req.mount) mounts.push(await mountInput(store, input, req, runId));
      else {
        await store.repo(input.repo).download({
          ref: { bundle: input.bundle }, dest: input.dir, contributor: req.contributor, reporter: req.reporter,
          concurrency: req.concurrency, signal: req.signal, run: runId,
        });
      }
    }
    for (const o of req.outputs) await mkdir(o.dir, { recursive: true }).catch((err) => { throw outputError(o, `cannot be created: ${errnoCode(err) ?? String(err)}`, 'IO'); });
    const env = { ...(req.env ?? process.env), ...stepEnv(runId, inputs, req.outputs) };
    end = await runCommand(req.command, { env, stdio: req.stdio ?? 'inherit', cwd: req.cwd, signal: req.signal });
  } catch (err) {
    await unmountAll(mounts).catch(() => undefined); // the step's own error is the one to report
    throw err;
  }
  await unmountAll(mounts);
  if (req.signal?.aborted) throw interruptedError();
  if (end.exitStatus !== 0) return { runId, inputs, end, committed: false };
  for (const o of req.outputs) await checkOutputDir(o);
  const outputs = [];
  for (const o of req.outputs) {
    const result = await store.repo(o.repo).upload({
      source: o.dir, contributor: req.contributor, message: req.message ?? defaultMessage(runId, req.command),
      label: o.label, reporter: req.reporter, signal: req.signal, tuning: req.tuning,
      inputs: inputs.map((i) => ({ repo: i.repo, ref: i.bundle })),
      run: { id: runId, command: req.command, exitStatus: end.exitStatus, seconds: end.seconds },
    });
    outputs.push({ bundle: result.bundle, ...(result.label ? { label: result.label } : {}) });
  }
  return { runId, inputs, end, committed: true, outputs };
}

/** Mounts an input at its directory (created if missing), its reads logged with the run id. */
async function mountInput(store: Store, input: StepInputResult, req: StepRequest, runId: string): Promise<MountHandle> {
  await mkdir(input.dir, { recursive: true });
  return store.repo(input.repo).mount(input.dir, { bundle: input.bundle }, {
    contributor: req.contributor, run: runId, ...(req.reporter ? { reporter: req.reporter } : {}), ...(req.signal ? { signal: req.signal } : {}),
  });
}

/** Unmounts every mount (each tried even when one fails); the first failure is thrown after. */
async function unmountAll(mounts: readonly MountHandle[]): Promise<void> {
  const results = await Promise.allSettled(mounts.map((m) => m.unmount()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Each input resolved to the bundle its ref names now (NOT_FOUND/USAGE naming `<repo>@<ref>`). */
async function resolveEach(store: Store, inputs: readonly StepInput[]): Promise<StepInputResult[]> {
  const resolved: StepInputResult[] = [];
  for (const input of inputs) {
    const [one] = await resolveInputs(store.storage, [input]);
    resolved.push({ ...one!, ref: input.ref, dir: path.resolve(input.dir) });
  }
  return resolved;
}

/** USAGE when two directories are the same or one is inside another: a step's output must hold only its output. */
function checkDistinctDirs(dirs: { what: string; dir: string }[]): void {
  const inside = (a: string, b: string) => a === b || a.startsWith(b.endsWith(path.sep) ? b : b + path.sep);
  const abs = dirs.map((d) => ({ ...d, dir: path.resolve(d.dir) }));
  for (let i = 0; i < abs.length; i++) {
    for (let j = i + 1; j < abs.length; j++) {
      const [a, b] = [abs[i]!, abs[j]!];
      if (inside(a.dir, b.dir) || inside(b.dir, a.dir)) throw usageError(`run: the directories of ${a.what} and ${b.what} overlap (${a.dir}, ${b.dir}); give each its own`);
    }
  }
}

async function checkOutputDir(o: StepOutput): Promise<void> {
  const st = await stat(o.dir).catch(() => undefined);
  if (!st?.isDirectory()) throw outputError(o, 'the command succeeded but left no directory there; nothing was committed', 'BAD_INPUT');
}

function outputError(o: StepOutput, problem: string, code: 'IO' | 'BAD_INPUT'): InputError {
  return new InputError('output', `${o.repo}=${o.dir}`, problem, code);
}

/** The variables the command sees (see runStep). */
export function stepEnv(runId: string, inputs: readonly StepInputResult[], outputs: readonly StepOutput[]): Record<string, string> {
  const env: Record<string, string> = { DATAMOVER_RUN_ID: runId };
  inputs.forEach((input, n) => {
    env[`DATAMOVER_INPUT_${n}`] = input.dir;
    env[`DATAMOVER_INPUT_${n}_BUNDLE`] = input.bundle;
  });
  outputs.forEach((output, n) => { env[`DATAMOVER_OUTPUT_${n}`] = path.resolve(output.dir); });
  const named = (kind: string, list: readonly { repo: string; dir: string }[]) => {
    const byName = new Map<string, string[]>();
    for (const item of list) {
      const name = `DATAMOVER_${kind}_${item.repo.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
      byName.set(name, [...(byName.get(name) ?? []), path.resolve(item.dir)]);
    }
    for (const [name, dirs] of byName) if (dirs.length === 1 && !(name in env)) env[name] = dirs[0]!;
  };
  named('INPUT', inputs);
  named('OUTPUT', outputs);
  return env;
}

function defaultMessage(runId: string, command: readonly string[]): string {
  const line = command.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return `run ${runId}: ${line.length > 200 ? `${line.slice(0, 199)}…` : line}`;
}
