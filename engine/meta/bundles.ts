import { integrityError, isDatamoverError, notFound } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, keys } from '../vocab.js';
import { checkBundleId } from './ids.js';
import { readJson } from './objects.js';
import { getRepo } from './repos.js';
import { bundleDescriptor } from './validate.js';

/**
 * The descriptor of bundle `id`, validated (validate.ts `bundleDescriptor`). Fails with USAGE on a malformed
 * id, NOT_FOUND when absent, INTEGRITY naming the descriptor when it is damaged.
 */
export async function getBundle(storage: Storage, repo: string, id: string): Promise<BundleDescriptor> {
  checkBundleId(id);
  const bundle = await readJson(storage, keys.bundle(repo, id), bundleDescriptor({ repo, id }));
  if (!bundle) throw notFound(`bundle ${id} not found in repo ${repo}`);
  return bundle;
}

/** A descriptor that could not be read: its key and the INTEGRITY error's message. */
export interface DamagedBundle { key: string; problem: string }

/**
 * Committed bundles of a repo (not checked to exist), oldest first (ULIDs sort by time), and the descriptors
 * that are damaged: one bad descriptor does not hide the others. Errors other than damage are thrown.
 */
export async function scanBundles(storage: Storage, repo: string): Promise<{ bundles: BundleDescriptor[]; damaged: DamagedBundle[] }> {
  const prefix = keys.bundlesPrefix(repo);
  const bundles: BundleDescriptor[] = [];
  const damaged: DamagedBundle[] = [];
  for await (const entry of storage.list(prefix, { delimiter: '/' })) {
    if (!entry.isPrefix) continue;
    const id = entry.key.slice(prefix.length, -1);
    const key = keys.bundle(repo, id);
    try {
      const bundle = await readJson(storage, key, bundleDescriptor({ repo, id }));
      if (bundle) bundles.push(bundle); // a prefix without descriptor is an unfinished upload: invisible
    } catch (err) {
      if (!isDatamoverError(err, 'INTEGRITY')) throw err;
      damaged.push({ key, problem: err.message });
    }
  }
  return { bundles, damaged };
}

/** Committed bundles of a repo, oldest first. INTEGRITY naming the first damaged descriptor. */
export async function listBundles(storage: Storage, repo: string): Promise<BundleDescriptor[]> {
  await getRepo(storage, repo);
  const { bundles, damaged } = await scanBundles(storage, repo);
  if (damaged.length) throw integrityError(damaged[0]!.problem);
  return bundles;
}
