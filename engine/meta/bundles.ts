import { notFound, usageError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, keys } from '../vocab.js';
import { checkBundleId, checkName } from './ids.js';
import { getLabel } from './labels.js';
import { readJson } from './objects.js';
import { getRepo } from './repos.js';

/** The descriptor of bundle `id`. Fails with USAGE on a malformed id, NOT_FOUND when absent. */
export async function getBundle(storage: Storage, repo: string, id: string): Promise<BundleDescriptor> {
  checkBundleId(id);
  const bundle = await readJson<BundleDescriptor>(storage, keys.bundle(repo, id));
  if (!bundle) throw notFound(`bundle ${id} not found in repo ${repo}`);
  return bundle;
}

/** Committed bundles of a repo, oldest first (ULIDs sort by time). */
export async function listBundles(storage: Storage, repo: string): Promise<BundleDescriptor[]> {
  await getRepo(storage, repo);
  const prefix = keys.bundlesPrefix(repo);
  const out: BundleDescriptor[] = [];
  for await (const entry of storage.list(prefix, { delimiter: '/' })) {
    if (!entry.isPrefix) continue;
    const bundle = await readJson<BundleDescriptor>(storage, keys.bundle(repo, entry.key.slice(prefix.length, -1)));
    if (bundle) out.push(bundle); // a prefix without descriptor is an unfinished upload: invisible
  }
  return out;
}

export interface BundleRef { bundle?: string; label?: string }

/** Fails with USAGE unless exactly one of `--bundle` and `--label` is given, and well-formed. Touches no store. */
export function checkBundleRef(ref: BundleRef): BundleRef {
  if (!!ref.bundle === !!ref.label) throw usageError('give exactly one of --bundle <id> or --label <name>');
  if (ref.bundle) checkBundleId(ref.bundle);
  else checkName(ref.label!, 'label');
  return ref;
}

/** Resolves `--bundle` or `--label` (exactly one) to a descriptor, after checking the repo exists. */
export async function resolveBundle(storage: Storage, repo: string, ref: BundleRef): Promise<BundleDescriptor> {
  checkBundleRef(ref);
  await getRepo(storage, repo);
  const id = ref.bundle ?? (await getLabel(storage, repo, ref.label!)).bundle;
  return getBundle(storage, repo, id);
}
