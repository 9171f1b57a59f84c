/** `run`: one pipeline step — inputs downloaded, a command run, outputs uploaded with their lineage (engine/run/run.ts). */
import type { Command } from 'commander';
import { InputError, type StepInput, type StepOutput, checkRunId, parseInputRef } from '../../engine/index.js';
import type { Action } from '../action.js';
import { collect } from '../context.js';

interface RunOptions { input: string[]; output: string[]; run?: string; message?: string; mount?: boolean }

export function registerRun(program: Command, action: Action): void {
  program.command('run').description('run a pipeline step: download inputs, run a command, upload its outputs with what they were made from')
    .argument('<command...>', 'the command and its arguments, after --')
    .option('--input <repo@ref=dir>', 'download this bundle into dir before the command runs (repeatable)', collect, [])
    .option('--output <repo=dir[:label]>', 'upload dir to repo as a bundle if the command exits 0, then move label (repeatable)', collect, [])
    .option('--run <id>', 'the run id (default: the Argo node, GitHub Actions run, GitLab job or Kubernetes pod found in the environment, else a new id)')
    .option('--message <text>', 'the outputs\' message (default: the run id and the command line)')
    .option('--mount', 'mount each input read-only with FUSE instead of downloading it (unmounted when the command ends)')
    .action(action('run', async (ctx, command: string[], o: RunOptions) => {
      const inputs = o.input.map(inputOf);
      const outputs = o.output.map(outputOf);
      const r = await (await ctx.store()).runStep({
        inputs, outputs, command, contributor: ctx.contributor(), runId: o.run === undefined ? undefined : checkRunId(o.run),
        message: o.message, mount: !!o.mount, reporter: ctx.report, signal: ctx.signal, concurrency: ctx.intOption('concurrency'),
        tuning: { workers: ctx.intOption('workers'), concurrency: ctx.intOption('concurrency') },
        // Under --json stdout carries NDJSON only: the command's stdout goes to stderr.
        stdio: ctx.opts.json ? ['inherit', 2, 'inherit'] : 'inherit',
      });
      const summary = {
        runId: r.runId, exitStatus: r.end.exitStatus, seconds: r.end.seconds, committed: r.committed,
        inputs: r.inputs.map((i) => ({ repo: i.repo, ref: i.ref, bundle: i.bundle })),
        outputs: r.committed ? r.outputs.map((out) => ({ repo: out.bundle.repo, bundle: out.bundle.id, label: out.label?.name ?? null })) : [],
      };
      if (r.committed) {
        ctx.done(summary, [`run ${r.runId}: exit 0 in ${r.end.seconds.toFixed(2)} s`,
          ...summary.outputs.map((out) => `${out.repo} bundle ${out.bundle}${out.label ? ` (label ${out.label})` : ''}`)]);
        return;
      }
      ctx.stopProgress();
      const why = r.end.started ? `the command ${r.end.signal ? `was killed by ${r.end.signal}` : `exited with status ${r.end.exitStatus}`}`
        : `the command could not be started (${r.end.error})`;
      process.stderr.write(`datamover: error: run ${r.runId}: ${why}; nothing was committed\n`);
      if (ctx.opts.json) process.stdout.write(`${JSON.stringify({ type: 'summary', command: 'run', ok: false, ...summary, exitCode: r.end.exitStatus })}\n`);
      process.exitCode = r.end.exitStatus;
    }));
}

/** `<repo>@<ref>=<dir>`: USAGE naming --input when malformed. */
function inputOf(value: string): StepInput {
  const eq = value.indexOf('=');
  if (eq < 0 || eq === value.length - 1) throw new InputError('input', JSON.stringify(value), 'expected <repo>@<ref>=<dir>');
  return { ...parseInputRef(value.slice(0, eq)), dir: value.slice(eq + 1) };
}

/** `<repo>=<dir>[:<label>]` (a trailing `:name` is a label): USAGE naming --output when malformed. */
function outputOf(value: string): StepOutput {
  const m = /^([A-Za-z0-9][A-Za-z0-9._-]{0,99})=(.+?)(?::([A-Za-z0-9][A-Za-z0-9._-]{0,99}))?$/s.exec(value);
  if (!m) throw new InputError('output', JSON.stringify(value), 'expected <repo>=<dir> or <repo>=<dir>:<label>');
  return { repo: m[1]!, dir: m[2]!, ...(m[3] ? { label: m[3] } : {}) };
}
