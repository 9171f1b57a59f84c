/**
 * `bundle rewrite`: new bundles without the entries that `exclude` patterns match (a secret uploaded by
 * mistake), then the labels moved to them and the old bundles forgotten — after which `gc` can reclaim the
 * removed bytes. A rewritten bundle references chunks its original already references; it has a new id and
 * `created`, the original's message and contributor, `rewrittenFrom` (the original and its time, which
 * retention goes by), and parents mapped to their rewrites. Order: every pattern is checked to match something
 * before anything is written; then per bundle, oldest first: manifest pages, a `bundle.rewrite` WAL record,
 * the commit (meta/commit.ts: `bundle.commit` record, descriptor); then labels by compare-and-swap; then the
 * originals are forgotten (reason 'rewrite'). A rerun after a crash adopts a rewrite already committed.
 */
import { type WriterLease, withWriterLease } from '../gc/lease.js';
import { type Reporter, silentReporter } from '../events.js';
import { InputError, integrityError, isDatamoverError, usageError } from '../errors.js';
import { scanBundles } from '../meta/bundles.js';
import { commitBundle } from '../meta/commit.js';
import { newId } from '../meta/ids.js';
import { setLabel } from '../meta/labels.js';
import { ManifestWriter, readEntries } from '../meta/manifest.js';
import { resolveBundle } from '../meta/refs.js';
import { getRepo } from '../meta/repos.js';
import { appendWal } from '../meta/wal.js';
import { type PathSelector, globSelector } from '../download/select.js';
import type { Storage } from '../storage/storage.js';
import { type BundleDescriptor, type Contributor, keys } from '../vocab.js';
import { type ForgottenBundle, forgetBundle, labelsByBundle } from './forget.js';

export interface RewriteRequest {
  storage: Storage;
  repo: string;
  contributor: Contributor;
  /** The bundles to rewrite, as refs; or `all`. */
  refs?: readonly string[];
  all?: boolean;
  /** Paths or globs to leave out; each also removes everything under what it matches (download's --exclude). */
  exclude: readonly string[];
  /** Check the patterns and report what would be rewritten; write nothing. */
  dryRun?: boolean;
  reporter?: Reporter;
  /** Manifest page size of the new bundles (tests). */
  pageSize?: number;
}

export interface RewrittenBundle { from: string; bundle: string; removed: number }
export interface LabelMoved { label: string; from: string; to: string }

export interface RewriteResult {
  /** Old → new, oldest first; with `dryRun`, `bundle` is ''. */
  rewritten: RewrittenBundle[];
  /** Bundles named (or, with `all`, in the repo) that hold no matching entry: left as they are. */
  unchanged: string[];
  labelsMoved: LabelMoved[];
  forgotten: ForgottenBundle[];
  dryRun: boolean;
}

/**
 * Rewrites the bundles `refs` name (or every bundle, `all`) without the entries `exclude` matches. USAGE (an
 * InputError of field `exclude`) when there is no pattern, a pattern is empty or absolute, or a pattern
 * matches no entry of any of those bundles — nothing is written then; USAGE unless exactly one of refs and
 * `all` is given. NOT_FOUND for the repo or a ref; INTEGRITY for a damaged descriptor (with `all`) or page.
 */
export async function rewriteBundles(req: RewriteRequest): Promise<RewriteResult> {
  const { storage, repo } = req;
  if (!req.exclude.length) throw new InputError('exclude', 'not given', 'give at least one path or glob to remove');
  for (const p of req.exclude) if (!p || p.startsWith('/')) throw new InputError('exclude', JSON.stringify(p), 'expected a relative path or glob');
  if (!!req.refs?.length === !!req.all) throw usageError('give the bundles to rewrite, or all, not both');
  await getRepo(storage, repo);
  const scan = await scanBundles(storage, repo);
  if (req.all && scan.damaged.length) throw integrityError(`${scan.damaged[0]!.problem}; nothing rewritten`);
  const targets = req.all ? scan.bundles : await resolveAll(storage, repo, req.refs!);
  const patterns = req.exclude.map((p) => globSelector([p], []));
  const removed = new Map<string, number>();
  for (const b of targets) removed.set(b.id, await countMatches(storage, b, patterns));
  const unmatched = req.exclude.filter((_, i) => patterns[i]!.unmatched!().length);
  if (unmatched.length) {
    throw new InputError('exclude', JSON.stringify(unmatched[0]), `matches no entry of the ${targets.length} bundle(s) to rewrite; nothing rewritten`);
  }
  const changing = targets.filter((b) => removed.get(b.id)! > 0);
  const result: RewriteResult = {
    rewritten: [], unchanged: targets.filter((b) => !removed.get(b.id)).map((b) => b.id), labelsMoved: [], forgotten: [], dryRun: !!req.dryRun,
  };
  if (req.dryRun) {
    result.rewritten = changing.map((b) => ({ from: b.id, bundle: '', removed: removed.get(b.id)! }));
    return result;
  }
  const renamed = new Map<string, string>();
  for (const b of changing) {
    const earlier = scan.bundles.find((c) => c.rewrittenFrom?.bundle === b.id);
    const adopt = earlier && (await countMatches(storage, earlier, patterns)) === 0 ? earlier : undefined;
    const id = adopt?.id ?? await rewriteOne(req, b, patterns, renamed);
    renamed.set(b.id, id);
    result.rewritten.push({ from: b.id, bundle: id, removed: removed.get(b.id)! });
  }
  result.labelsMoved = await moveLabels(req, renamed);
  for (const b of changing) result.forgotten.push(await forgetBundle({ ...req, force: false }, b, 'rewrite'));
  return result;
}

/** Writes and commits the rewrite of `b`; returns its id. */
async function rewriteOne(req: RewriteRequest, b: BundleDescriptor, patterns: PathSelector[], renamed: Map<string, string>): Promise<string> {
  const { storage, repo } = req;
  const id = newId();
  // The rewrite names chunks it found in an old manifest: a writer, holding a lease (docs/gc.md).
  return withWriterLease(storage, 'rewrite', { repo, id }, (lease) => writeRewrite(req, b, patterns, renamed, id, lease));
}

async function writeRewrite(
  req: RewriteRequest, b: BundleDescriptor, patterns: PathSelector[], renamed: Map<string, string>, id: string, lease: WriterLease,
): Promise<string> {
  const { storage, repo } = req;
  const started = Date.now();
  const writer = new ManifestWriter(storage, (n) => keys.manifestPage(repo, id, n), req.pageSize);
  let files = 0;
  let bytes = 0;
  let removed = 0;
  for await (const entry of readEntries(storage, b.pages)) {
    if (patterns.some((p) => p.matches(entry.path))) { removed++; continue; }
    if (entry.type === 'file') files++;
    bytes += entry.size;
    await writer.add(entry);
  }
  const pages = await writer.finish();
  await appendWal(storage, 'bundle.rewrite', repo, req.contributor, { bundle: b.id, rewritten: id, exclude: [...req.exclude], removed });
  const descriptor: BundleDescriptor = {
    id, repo, parents: b.parents.map((p) => renamed.get(p) ?? p), message: b.message, contributor: b.contributor,
    created: new Date().toISOString(), hash: b.hash, chunker: b.chunker, files, bytes, pages,
    stats: { newBytes: 0, dedupBytes: bytes, packs: 0, seconds: (Date.now() - started) / 1000 },
    rewrittenFrom: { bundle: b.id, created: b.rewrittenFrom?.created ?? b.created },
  };
  await commitBundle(storage, descriptor, undefined, { rewrittenFrom: b.id, rewrittenBy: req.contributor }, lease);
  (req.reporter ?? silentReporter)({ type: 'bundle.rewritten', repo, from: b.id, bundle: id, removed });
  return id;
}

/** Moves each label that points at a rewritten bundle to its rewrite, by CAS; a label moved meanwhile is left. */
async function moveLabels(req: RewriteRequest, renamed: Map<string, string>): Promise<LabelMoved[]> {
  const moved: LabelMoved[] = [];
  for (const [from, names] of await labelsByBundle(req.storage, req.repo)) {
    const to = renamed.get(from);
    if (!to) continue;
    for (const label of names) {
      try {
        await setLabel(req.storage, req.repo, label, to, req.contributor, { expect: from });
        moved.push({ label, from, to });
      } catch (err) {
        if (!isDatamoverError(err, 'CONFLICT')) throw err;
      }
    }
  }
  return moved;
}

/** How many entries of `b` some pattern matches (every pattern is asked, so each records whether it matched). */
async function countMatches(storage: Storage, b: BundleDescriptor, patterns: PathSelector[]): Promise<number> {
  let n = 0;
  for await (const entry of readEntries(storage, b.pages)) {
    if (patterns.map((p) => p.matches(entry.path)).some(Boolean)) n++;
  }
  return n;
}

/** The bundles the refs name, deduplicated, oldest first (so parents are rewritten before their children). */
async function resolveAll(storage: Storage, repo: string, refs: readonly string[]): Promise<BundleDescriptor[]> {
  const found = new Map<string, BundleDescriptor>();
  for (const ref of refs) {
    const b = await resolveBundle(storage, repo, { ref });
    found.set(b.id, b);
  }
  return [...found.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}
