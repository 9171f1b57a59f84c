/**
 * Which manifest entries a download touches: `--include`/`--exclude` globs, or an explicit set of paths. A
 * selector also says which manifest pages can hold a match (from the page's first and last path), so a subset
 * download reads only the pages — and so only the packs — that hold what it restores.
 */
import picomatch from 'picomatch';
import { InputError } from '../errors.js';
import { pageBounds } from '../meta/manifest.js';
import { type ManifestPage, comparePaths } from '../vocab.js';

export interface PathSelector {
  matches(path: string): boolean;
  pageMayMatch(first: string, last: string): boolean;
  /**
   * Whether some path strictly between `after` and `before` (either absent: unbounded) may match. A reader asks
   * this of a page's neighbour-bounded range (manifest.ts `pageBounds`), so a damaged page record cannot hide
   * entries; it may answer true too often, never too rarely.
   */
  rangeMayMatch(after: string | undefined, before: string | undefined): boolean;
  /** For the read log. */
  describe(): { include?: string[]; exclude?: string[]; note?: string };
  /**
   * The include patterns that no path given to `matches` so far has matched. Meaningful once every entry the
   * selector may match has been asked (pages it ruled out hold no match, by the contract above).
   */
  unmatched?(): string[];
}

export const everything: PathSelector = { matches: () => true, pageMayMatch: () => true, rangeMayMatch: () => true, describe: () => ({}) };

/**
 * An include pattern that matches no entry is most likely a typo, or a name the shell could not pass: refused
 * before anything is written (USAGE, an InputError of field `include` naming every such pattern), never a
 * silent empty download. Reads the selected pages until every pattern has matched, so often only the first.
 */
export async function checkEveryIncludeMatches(entries: AsyncIterable<{ path: string }>, select: PathSelector, bundle: string): Promise<void> {
  if (!select.unmatched?.().length) return;
  for await (const _ of entries) if (!select.unmatched().length) return;
  const missing = select.unmatched();
  if (!missing.length) return;
  // Node reads argv bytes that are not UTF-8 as U+FFFD, which no stored name holds: say what to type instead.
  const odd = missing.find((p) => p.includes('\ufffd'));
  const hint = odd === undefined ? ''
    : `; arguments that are not UTF-8 cannot be given on the command line; use a glob such as ${odd.replace(/\ufffd+/g, (run) => (run.length > 1 ? '*' : '?'))}`;
  throw new InputError('include', missing.map((p) => JSON.stringify(p)).join(', '), `${missing.length > 1 ? 'match' : 'matches'} no entry of bundle ${bundle}${hint}`);
}

/**
 * The pages of a manifest that may hold a selected entry, judged by their neighbours' records (pageBounds), so
 * a damaged record of a page never makes a subset read leave out its entries.
 */
export function selectedPages<P extends ManifestPage>(pages: readonly P[], select: PathSelector): P[] {
  return pages.filter((_, n) => {
    const { after, before } = pageBounds(pages, n);
    return select.rangeMayMatch(after, before);
  });
}

/** One include or exclude pattern, compiled. */
interface Pattern {
  /** Whether `path` is selected by it. */
  test(path: string): boolean;
  /** The directory every match lies in or under ('' = anywhere), for skipping manifest pages. */
  base: string;
}

/**
 * A glob selector: a path is selected when it matches some include (all, when none) and no exclude. Each
 * pattern selects the path it names literally and everything under it (`data/raw` selects `data/raw/x`; `.`
 * selects everything) and, when it is a glob, every path the glob matches and everything under those. Globs
 * match any character in a name, newlines and lone surrogates (bytes that are not UTF-8) included, and dot
 * files; a leading `!` is a literal character, never a negation (exclusion is what `exclude` is for). Fails
 * with USAGE on an empty or absolute pattern (an InputError of field `include` or `exclude`).
 */
export function globSelector(include: readonly string[], exclude: readonly string[]): PathSelector {
  for (const [field, list] of [['include', include], ['exclude', exclude]] as const) {
    for (const p of list) if (!p || p.startsWith('/')) throw new InputError(field, JSON.stringify(p), 'expected a relative path or glob');
  }
  const inc = include.map(compilePattern);
  const exc = exclude.map(compilePattern);
  const hit = inc.map(() => false);
  const included = (path: string) => {
    let ok = !inc.length;
    inc.forEach((p, i) => {
      if (ok && hit[i]) return; // already known to match something: no need to ask again
      if (p.test(path)) ok = hit[i] = true;
    });
    return ok;
  };
  const bases = inc.map((p) => p.base);
  return {
    matches: (path) => included(path) && !exc.some((p) => p.test(path)),
    pageMayMatch: (first, last) => !include.length || bases.some((b) => subtreeTouches(b, first, last)),
    rangeMayMatch: (after, before) => !include.length || bases.some((b) => subtreeMeetsOpenRange(b, after, before)),
    describe: () => ({ ...(include.length ? { include: [...include] } : {}), ...(exclude.length ? { exclude: [...exclude] } : {}) }),
    unmatched: () => include.filter((_, i) => !hit[i]),
  };
}

/** `./a/b/` -> `a/b`; `.` and `./` -> '' (the whole tree). */
function normalizePattern(p: string): string {
  let s = p.replace(/\/+$/, '');
  while (s.startsWith('./')) s = s.slice(2).replace(/^\/+/, '');
  return s === '.' ? '' : s;
}

function compilePattern(raw: string): Pattern {
  const path = normalizePattern(raw);
  const literal = (p: string) => !path || p === path || p.startsWith(`${path}/`);
  const scan = picomatch.scan(path, { nonegate: true });
  if (!scan.isGlob) return { test: literal, base: path };
  // picomatch writes `.` for "any character" and no `s` flag, so a newline in a name would never match.
  const globs = [path, `${path}/**`].map((g) => {
    const re = picomatch.makeRe(g, { dot: true, nonegate: true });
    return new RegExp(re.source, re.flags.includes('s') ? re.flags : `${re.flags}s`);
  });
  const base = scan.base.replace(/\/+$/, '');
  return {
    test: (p) => literal(p) || globs.some((re) => re.test(p)),
    base: base && (path === base || path.startsWith(`${base}/`)) ? base : '',
  };
}

/** Exactly these paths (and nothing under them). */
export function pathSetSelector(paths: ReadonlySet<string>, note: string): PathSelector {
  const sorted = [...paths].sort(comparePaths);
  return {
    matches: (path) => paths.has(path),
    rangeMayMatch: (after, before) => {
      // The first selected path after `after`: does it come before `before`?
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (after !== undefined && comparePaths(sorted[mid]!, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
      return lo < sorted.length && (before === undefined || comparePaths(sorted[lo]!, before) < 0);
    },
    pageMayMatch: (first, last) => {
      let lo = 0;
      let hi = sorted.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (comparePaths(sorted[mid]!, first) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo < sorted.length && comparePaths(sorted[lo]!, last) <= 0;
    },
    describe: () => ({ note }),
  };
}

/** Whether the subtree at `base` (the path itself and everything under it) meets the page [first, last]. */
function subtreeTouches(base: string, first: string, last: string): boolean {
  if (!base) return true;
  const inside = (p: string) => p === base || p.startsWith(`${base}/`);
  if (inside(first) || inside(last)) return true;
  // Paths under `base` sort contiguously right after `base` (component-wise order): the page spans them?
  return comparePaths(first, base) < 0 && comparePaths(last, base) > 0;
}

/**
 * Whether the subtree at `base` (the path and everything under it, contiguous in manifest order) holds a path
 * p with after < p < before. Conservative: when `after` lies inside the subtree, any `before` beyond it counts.
 */
function subtreeMeetsOpenRange(base: string, after: string | undefined, before: string | undefined): boolean {
  if (!base) return true;
  const inside = (p: string) => p === base || p.startsWith(`${base}/`);
  const beforeOk = (p: string) => before === undefined || comparePaths(p, before) < 0;
  if (after === undefined || comparePaths(after, base) < 0) return beforeOk(base);
  return inside(after) && beforeOk(after);
}
