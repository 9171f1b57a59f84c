/**
 * Inputs of a bundle (lineage): the bundles it was made from, named as `<repo>@<ref>` and resolved to ids when
 * the bundle is made, so that the record stays true when labels move later.
 */
import { InputError, isDatamoverError } from '../errors.js';
import { checkName } from '../meta/ids.js';
import { checkRef, resolveBundle } from '../meta/refs.js';
import type { Storage } from '../storage/storage.js';
import type { BundleInput, RunInfo } from '../vocab.js';
import { checkRunId } from './run-id.js';

/** An input as a caller names it: a repo and a ref in it (an id, id prefix, label or `latest`). */
export interface InputRef { repo: string; ref: string }

/**
 * Parses `<repo>@<ref>`. Fails with USAGE (an InputError of field `field`, `input` by default) when it is not
 * of that form or either part is malformed. Touches no store.
 */
export function parseInputRef(value: string, field = 'input'): InputRef {
  const at = value.indexOf('@');
  const [repo, ref] = at < 0 ? [value, ''] : [value.slice(0, at), value.slice(at + 1)];
  const bad = (problem: string) => new InputError(field, JSON.stringify(value), problem);
  if (at < 0 || !repo || !ref) throw bad('expected <repo>@<ref> (a ref is a bundle id, id prefix, label or latest)');
  try {
    checkName(repo, 'repo');
    checkRef(ref);
  } catch (err) {
    throw bad((err as Error).message);
  }
  return { repo, ref };
}

/**
 * Resolves each input to the committed bundle it names now, in order, without repeats. A ref that names
 * nothing fails with its own code (NOT_FOUND; USAGE when ambiguous) as an InputError of field `input` naming
 * `<repo>@<ref>`, before anything is written.
 */
export async function resolveInputs(storage: Storage, inputs: readonly InputRef[]): Promise<BundleInput[]> {
  const resolved: BundleInput[] = [];
  for (const input of inputs) {
    let bundle: string;
    try {
      bundle = (await resolveBundle(storage, input.repo, { ref: input.ref })).id;
    } catch (err) {
      if (!isDatamoverError(err) || (err.code !== 'NOT_FOUND' && err.code !== 'USAGE')) throw err;
      throw new InputError('input', `${input.repo}@${input.ref}`, err.message, err.code);
    }
    if (!resolved.some((r) => r.repo === input.repo && r.bundle === bundle)) resolved.push({ repo: input.repo, bundle });
  }
  return resolved;
}

/** A descriptor's `inputs` (resolved) and `run`, when given; fails before anything is written. */
export async function lineageFields(req: { storage: Storage; inputs?: readonly InputRef[]; run?: RunInfo }): Promise<{ inputs?: BundleInput[]; run?: RunInfo }> {
  if (req.run) checkRunId(req.run.id);
  const inputs = req.inputs?.length ? await resolveInputs(req.storage, req.inputs) : undefined;
  return { ...(inputs ? { inputs } : {}), ...(req.run ? { run: req.run } : {}) };
}
