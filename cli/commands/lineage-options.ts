/** The options through which a bundle records its lineage: `--input <repo>@<ref>` (repeatable) and `--run <id>`. */
import type { Command } from 'commander';
import { type InputRef, type RunInfo, checkRunId, parseInputRef, runIdFromEnv } from '../../engine/index.js';
import { collect } from '../context.js';

export interface LineageOptions { input: string[]; run?: string }

/** Adds `--input` and `--run` to `cmd`. */
export function lineageOptions(cmd: Command): Command {
  return cmd
    .option('--input <repo@ref>', 'a bundle this one is made from (an id, id prefix, label or latest; repeatable); recorded as its id', collect, [])
    .option('--run <id>', 'the run that makes it (default: the Argo node, GitHub Actions run, GitLab job or Kubernetes pod found in the environment)');
}

/** The parsed inputs and run of `o` (USAGE naming the flag when malformed); the run id defaults from the environment. */
export function lineageOf(o: LineageOptions, env = process.env): { inputs: InputRef[]; run?: RunInfo } {
  const inputs = o.input.map((value) => parseInputRef(value));
  const id = o.run === undefined ? runIdFromEnv(env) : checkRunId(o.run);
  return { inputs, ...(id === undefined ? {} : { run: { id } }) };
}
