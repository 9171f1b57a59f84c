/**
 * Bundle refs: the one way every command names a bundle. A ref is a full bundle id, a unique prefix of one (at
 * least 6 characters), a label name, or `latest` (the newest committed bundle). A ref must name exactly one
 * thing: a prefix shared by several ids, or a ref that is both a label and an id (or `latest`), is refused
 * naming every candidate, so a label never silently shadows an id or the other way round.
 */
import { notFound, usageError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, keys } from '../vocab.js';
import { getBundle } from './bundles.js';
import { checkBundleId, checkName, isBundleId } from './ids.js';
import { getLabel } from './labels.js';
import { readJson } from './objects.js';
import { getRepo } from './repos.js';
import { labelRecord } from './validate.js';

/** The ref of the newest committed bundle. */
export const LATEST = 'latest';
/** The shortest id prefix taken as one: shorter ones match too many ids to be typed on purpose. */
export const MIN_PREFIX = 6;
/** How many candidates an ambiguity error lists. */
const LISTED = 5;

/**
 * A bundle as a caller names it: exactly one of `ref` (any ref, see above), `bundle` (a full id only) or
 * `label` (a label name only).
 */
export interface BundleRef { ref?: string; bundle?: string; label?: string }

/**
 * Fails with USAGE unless exactly one of `ref`, `bundle`, `label` is given and well-formed. Touches no store.
 * `what` names the ref in the message (e.g. "bundle b").
 */
export function checkBundleRef(ref: BundleRef, what = 'ref'): BundleRef {
  const given = [ref.ref, ref.bundle, ref.label].filter((v) => v !== undefined).length;
  if (given !== 1) throw usageError('give exactly one bundle: a ref (id, id prefix, label or latest), an id, or a label');
  if (ref.bundle !== undefined) checkBundleId(ref.bundle);
  else if (ref.label !== undefined) checkName(ref.label, 'label');
  else checkRef(ref.ref!, what);
  return ref;
}

/** Fails with USAGE naming `what` when `ref` cannot be a ref (refs are spelled like label names). */
export function checkRef(ref: string, what = 'ref'): string {
  try {
    return checkName(ref, 'label');
  } catch {
    throw usageError(`${what} ${JSON.stringify(ref)}: expected a bundle id, an id prefix, a label name or ${LATEST}`);
  }
}

/** Resolves a ref (see BundleRef) to a committed bundle's descriptor, after checking the repo exists. */
export async function resolveBundle(storage: Storage, repo: string, ref: BundleRef, what = 'ref'): Promise<BundleDescriptor> {
  checkBundleRef(ref, what);
  await getRepo(storage, repo);
  if (ref.bundle !== undefined) return getBundle(storage, repo, ref.bundle);
  if (ref.label !== undefined) return getBundle(storage, repo, (await getLabel(storage, repo, ref.label)).bundle);
  return getBundle(storage, repo, await resolveRef(storage, repo, ref.ref!));
}

/**
 * The bundle id `ref` names in `repo` (the repo is not checked). USAGE when it names several things,
 * NOT_FOUND naming the ref when it names none.
 */
export async function resolveRef(storage: Storage, repo: string, ref: string): Promise<string> {
  checkRef(ref);
  const [label, ids, latest] = await Promise.all([
    labelTarget(storage, repo, ref),
    couldBeId(ref) ? committedIds(storage, repo, ref) : [],
    ref === LATEST ? newestCommitted(storage, repo) : undefined,
  ]);
  const asId = [...ids, ...(latest ? [latest] : [])];
  const named = JSON.stringify(ref);
  if (label !== undefined && asId.length) {
    const other = latest ? `the newest bundle ${latest}` : `bundle id ${listed(ids)}`;
    throw usageError(`ref ${named} is both label ${ref} (bundle ${label}) and ${other} in repo ${repo}; give the full id or the label alone`);
  }
  if (ids.length > 1) {
    throw usageError(`ref ${named} is ambiguous in repo ${repo}: ${ids.length} bundle ids start with it (${listed(ids)}); give more characters`);
  }
  const found = label ?? asId[0];
  if (found !== undefined) return found;
  if (isBundleId(ref)) throw notFound(`bundle ${ref} not found in repo ${repo}`);
  if (ref === LATEST) throw notFound(`ref ${named}: repo ${repo} has no committed bundle`);
  if (couldBeId(ref)) throw notFound(`ref ${named} not found in repo ${repo}: no label of that name and no bundle id starting with it`);
  throw notFound(`ref ${named}: label ${ref} not found in repo ${repo}`);
}

const ULID_CHARS = /^[0-9A-HJKMNP-TV-Z]+$/;

/** Ids are upper-case Crockford base32; a prefix is at least MIN_PREFIX characters and at most a whole id. */
function couldBeId(ref: string): boolean {
  return ref.length >= MIN_PREFIX && ref.length <= 26 && ULID_CHARS.test(ref);
}

/** The bundle a live label of that name points at, if there is one. */
async function labelTarget(storage: Storage, repo: string, name: string): Promise<string | undefined> {
  const label = await readJson(storage, keys.label(repo, name), labelRecord(name));
  return label && !label.deleted ? label.bundle : undefined;
}

/** Ids starting with `prefix` whose descriptor exists (a prefix without one is an unfinished upload). */
async function committedIds(storage: Storage, repo: string, prefix: string): Promise<string[]> {
  const ids = await bundleIds(storage, repo, prefix);
  const committed = await Promise.all(ids.map(async (id) => ((await storage.stat(keys.bundle(repo, id))) ? id : undefined)));
  return committed.filter((id): id is string => id !== undefined);
}

/**
 * The committed bundle with the newest data: a rewrite has a new id but its data's time is the original's
 * (`rewrittenFrom.created`), so rewriting an old bundle never makes it `latest`. Reads descriptors newest id
 * first and stops at the first bundle that is not a rewrite: every older id holds older data.
 */
async function newestCommitted(storage: Storage, repo: string): Promise<string | undefined> {
  const ids = await bundleIds(storage, repo, '');
  let best: { id: string; time: string } | undefined;
  for (let i = ids.length - 1; i >= 0; i--) {
    const bundle = await readJson(storage, keys.bundle(repo, ids[i]!)) as { created?: unknown; rewrittenFrom?: { created?: unknown } } | undefined;
    if (!bundle) continue;
    const time = String(bundle.rewrittenFrom?.created ?? bundle.created ?? '');
    if (!best || time > best.time) best = { id: ids[i]!, time };
    if (!bundle.rewrittenFrom) break;
  }
  return best?.id;
}

async function bundleIds(storage: Storage, repo: string, prefix: string): Promise<string[]> {
  const base = keys.bundlesPrefix(repo);
  const ids: string[] = [];
  for await (const entry of storage.list(base + prefix, { delimiter: '/' })) {
    if (entry.isPrefix) ids.push(entry.key.slice(base.length, -1));
  }
  return ids.filter(isBundleId).sort();
}

function listed(ids: string[]): string {
  return `${ids.slice(0, LISTED).join(', ')}${ids.length > LISTED ? `, and ${ids.length - LISTED} more` : ''}`;
}
