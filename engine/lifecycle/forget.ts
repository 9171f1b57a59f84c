/**
 * Forgetting bundles: removing a bundle's metadata so that `gc` may later reclaim the chunks no other bundle
 * needs. Forget never deletes packs or index objects. Per bundle, in this order (docs/gc.md relies on it):
 * 1. a `bundle.forget` WAL record (contributor, bundle, reason: 'ref', the retention policy, or 'rewrite');
 * 2. with force, the labels pointing at it, deleted by compare-and-swap (a label that moved to another bundle
 *    meanwhile is left alone); a committed split-upload session's record, so it cannot be committed again;
 * 3. the descriptor `bundle.json` (the bundle is gone from every listing and ref);
 * 4. every other object under the bundle's prefix (its manifest pages), then the session's shard records.
 * A rerun after a crash between steps finishes the job.
 */
import { decodeTime } from 'ulid';
import { type Reporter, silentReporter } from '../events.js';
import { InputError, integrityError, isDatamoverError } from '../errors.js';
import { idAt, isBundleId } from '../meta/ids.js';
import { deleteLabel, listLabels } from '../meta/labels.js';
import { readJson } from '../meta/objects.js';
import { resolveBundle } from '../meta/refs.js';
import { getRepo } from '../meta/repos.js';
import { scanBundles } from '../meta/bundles.js';
import { sessionRecord } from '../meta/validate.js';
import { appendWal, listWal } from '../meta/wal.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, type Contributor, keys } from '../vocab.js';
import { RETENTION_FIELDS, type RetentionInput, applyPolicy, bundleTime, describePolicy, retentionPolicy } from './retention.js';

export interface ForgetRequest {
  storage: Storage;
  repo: string;
  contributor: Contributor;
  /** The bundles to forget, as refs (id, id prefix, label, latest). Exclusive with `keep`. */
  refs?: readonly string[];
  /** A retention policy: forget every bundle of the repo it does not keep. Exclusive with `refs`. */
  keep?: RetentionInput;
  /** Forget bundles that labels point at, deleting those labels. */
  force?: boolean;
  /** Decide and report, change nothing. */
  dryRun?: boolean;
  /** The time the policy's future guard uses (default now). */
  now?: number;
  reporter?: Reporter;
}

/** What happened to one bundle: forgotten now, found forgotten already, or left because a label appeared on it. */
export interface ForgottenBundle {
  bundle: string;
  /** The bundle's time (see retention.ts `bundleTime`); absent for a bundle already forgotten. */
  created?: string;
  status: 'forgotten' | 'already forgotten' | 'labelled';
  /** Labels deleted with it (force), or, for 'labelled', the labels that keep it. */
  labels: string[];
}

export interface KeptBundleInfo { bundle: string; created: string; reasons: string[] }

export interface ForgetResult {
  /** With `dryRun`, what would be forgotten (status 'forgotten'). */
  forgotten: ForgottenBundle[];
  /** Retention only: every bundle kept, newest first, with the rules that keep it. */
  kept: KeptBundleInfo[];
  /** Retention only: the policy, as recorded in the WAL. */
  policy?: string;
  dryRun: boolean;
}

/**
 * Forgets the bundles `refs` name, or those `keep` does not keep. Every ref is resolved and checked before
 * anything changes: NOT_FOUND for an unknown ref (a full id whose bundle was forgotten is reported 'already
 * forgotten', and what a crash left of it is removed); USAGE (field `force`) naming the labels when a named
 * bundle is labelled and `force` is not given; USAGE when both or neither of `refs` and `keep` are given, or
 * the policy is malformed (retention.ts). INTEGRITY when a descriptor of the repo is damaged (retention only).
 */
export async function forgetBundles(req: ForgetRequest): Promise<ForgetResult> {
  const refs = req.refs ?? [];
  const given = Object.entries(req.keep ?? {}).filter(([, v]) => v !== undefined);
  if (refs.length && given.length) {
    const [rule, value] = given[0]!;
    throw new InputError(RETENTION_FIELDS[rule as keyof typeof RETENTION_FIELDS] ?? rule, JSON.stringify(String(value)), 'cannot be combined with bundles named to forget');
  }
  if (!refs.length) return forgetByPolicy(req);
  await getRepo(req.storage, req.repo);
  const targets = await resolveTargets(req.storage, req.repo, refs);
  const labels = await labelsByBundle(req.storage, req.repo);
  const labelled = targets.live.filter((b) => labels.has(b.id));
  if (labelled.length && !req.force) {
    const list = labelled.map((b) => `bundle ${b.id} (label ${labels.get(b.id)!.join(', ')})`).join('; ');
    throw new InputError('force', 'not given', `${list}: labels point at ${labelled.length > 1 ? 'these bundles' : 'it'}; nothing forgotten`);
  }
  const result: ForgetResult = { forgotten: [], kept: [], dryRun: !!req.dryRun };
  for (const id of targets.gone) {
    if (!req.dryRun) await finishForget(req.storage, req.repo, id);
    result.forgotten.push({ bundle: id, status: 'already forgotten', labels: [] });
  }
  for (const b of targets.live) {
    if (req.dryRun) result.forgotten.push({ bundle: b.id, created: b.created, status: 'forgotten', labels: labels.get(b.id) ?? [] });
    else result.forgotten.push(await forgetBundle(req, b, 'ref'));
  }
  return result;
}

async function forgetByPolicy(req: ForgetRequest): Promise<ForgetResult> {
  const policy = retentionPolicy(req.keep ?? {});
  await getRepo(req.storage, req.repo);
  const { bundles, damaged } = await scanBundles(req.storage, req.repo);
  if (damaged.length) throw integrityError(`${damaged[0]!.problem}; a policy cannot be applied to a repo whose bundles cannot all be read (see datamover fsck); nothing forgotten`);
  const labels = await labelsByBundle(req.storage, req.repo);
  const decided = applyPolicy(bundles, labels, policy, req.now);
  const summary = describePolicy(policy);
  const result: ForgetResult = {
    forgotten: [], dryRun: !!req.dryRun, policy: summary,
    kept: decided.keep.map((k) => ({ bundle: k.bundle.id, created: timeOf(k.bundle), reasons: k.reasons })),
  };
  for (const b of decided.remove) {
    if (req.dryRun) result.forgotten.push({ bundle: b.id, created: timeOf(b), status: 'forgotten', labels: [] });
    // A policy never deletes labels: one set on a bundle since the policy was applied keeps it ('labelled').
    else result.forgotten.push({ ...await forgetBundle({ ...req, force: false }, b, summary), created: timeOf(b) });
  }
  return result;
}

const timeOf = (b: BundleDescriptor) => new Date(bundleTime(b)).toISOString();

/**
 * Forgets one committed bundle (steps 1–4 above). With `req.force`, deletes the labels that point at it now;
 * without, a label that points at it now (one set since the caller checked) keeps it: status 'labelled'.
 */
export async function forgetBundle(
  req: Pick<ForgetRequest, 'storage' | 'repo' | 'contributor' | 'force' | 'reporter'>, bundle: BundleDescriptor, reason: string,
): Promise<ForgottenBundle> {
  const { storage, repo } = req;
  const pointing = (await labelsByBundle(storage, repo)).get(bundle.id) ?? [];
  if (pointing.length && !req.force) return { bundle: bundle.id, created: bundle.created, status: 'labelled', labels: pointing };
  await appendWal(storage, 'bundle.forget', repo, req.contributor, { bundle: bundle.id, reason });
  const deleted: string[] = [];
  for (const name of pointing) if (await deleteLabelIfStill(storage, repo, name, bundle.id, req.contributor)) deleted.push(name);
  await finishForget(storage, repo, bundle.id);
  (req.reporter ?? silentReporter)({ type: 'bundle.forgotten', repo, bundle: bundle.id, reason });
  return { bundle: bundle.id, created: bundle.created, status: 'forgotten', labels: deleted };
}

/** Deletes label `name` if it still points at `bundle` (CAS); false when it moved or went meanwhile. */
async function deleteLabelIfStill(storage: Storage, repo: string, name: string, bundle: string, contributor: Contributor): Promise<boolean> {
  try {
    await deleteLabel(storage, repo, name, contributor, { expect: bundle });
    return true;
  } catch (err) {
    if (isDatamoverError(err, 'CONFLICT') || isDatamoverError(err, 'NOT_FOUND')) return false;
    throw err;
  }
}

/**
 * Steps 2 (session record) to 4 for a bundle whose `bundle.forget` record is written: idempotent, so a rerun
 * after a crash, or a forget of a bundle already gone, completes what was left.
 */
async function finishForget(storage: Storage, repo: string, id: string): Promise<void> {
  const session = await readJson(storage, keys.session(id), sessionRecord(id)).catch(() => undefined);
  const ownSession = session?.repo === repo;
  if (ownSession) await storage.delete([keys.session(id)]);
  await storage.delete([keys.bundle(repo, id)]);
  await deleteUnder(storage, `${keys.bundlesPrefix(repo)}${id}/`);
  if (ownSession) await deleteUnder(storage, `meta/sessions/${id}/`);
}

/** Deletes every object under `prefix`, in batches. */
export async function deleteUnder(storage: Storage, prefix: string): Promise<number> {
  let batch: string[] = [];
  let count = 0;
  for await (const e of storage.list(prefix)) {
    batch.push(e.key);
    if (batch.length >= 500) { await storage.delete(batch); count += batch.length; batch = []; }
  }
  if (batch.length) await storage.delete(batch);
  return count + batch.length;
}

/** Live label names by the bundle they point at. */
export async function labelsByBundle(storage: Storage, repo: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const l of await listLabels(storage, repo)) out.set(l.bundle, [...(out.get(l.bundle) ?? []), l.name]);
  return out;
}

/**
 * Resolves every ref: committed bundles (deduplicated), and full ids whose bundle was forgotten already (a
 * `bundle.forget` record names them). NOT_FOUND for anything else that names nothing.
 */
async function resolveTargets(storage: Storage, repo: string, refs: readonly string[]): Promise<{ live: BundleDescriptor[]; gone: string[] }> {
  const live = new Map<string, BundleDescriptor>();
  const gone = new Set<string>();
  for (const ref of refs) {
    if (isBundleId(ref) && !(await storage.stat(keys.bundle(repo, ref))) && (await wasForgotten(storage, repo, ref))) {
      gone.add(ref);
      continue;
    }
    const b = await resolveBundle(storage, repo, { ref });
    live.set(b.id, b);
  }
  return { live: [...live.values()], gone: [...gone] };
}

/** Whether the WAL records that bundle `id` was forgotten (records after the bundle's id time only are read). */
async function wasForgotten(storage: Storage, repo: string, id: string): Promise<boolean> {
  for await (const r of listWal(storage, { repo, afterId: idAt(decodeTime(id)) })) {
    if (r.type === 'bundle.forget' && r.bundle === id) return true;
  }
  return false;
}
