/**
 * Which manifest entries a download touches: `--include`/`--exclude` globs, or an explicit set of paths. A
 * selector also says which manifest pages can hold a match (from the page's first and last path), so a subset
 * download reads only the pages — and so only the packs — that hold what it restores.
 */
import picomatch from 'picomatch';
import { usageError } from '../errors.js';
import { comparePaths } from '../vocab.js';

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
}

export const everything: PathSelector = { matches: () => true, pageMayMatch: () => true, rangeMayMatch: () => true, describe: () => ({}) };

/**
 * A glob selector: a path is selected when it matches some include (all, when none) and no exclude. A pattern
 * also selects everything under a directory it matches (`data/raw` selects `data/raw/x`). Fails with USAGE on an
 * empty or absolute pattern, naming the flag.
 */
export function globSelector(include: readonly string[], exclude: readonly string[]): PathSelector {
  for (const [flag, list] of [['--include', include], ['--exclude', exclude]] as const) {
    for (const p of list) if (!p || p.startsWith('/')) throw usageError(`${flag} ${JSON.stringify(p)}: expected a relative path or glob`);
  }
  const compile = (patterns: readonly string[]) => patterns.flatMap((p) => [p, `${p.replace(/\/+$/, '')}/**`]);
  const inc = include.length ? picomatch(compile(include), { dot: true }) : () => true;
  const exc = exclude.length ? picomatch(compile(exclude), { dot: true }) : () => false;
  const bases = include.map((p) => picomatch.scan(p).base.replace(/\/+$/, ''));
  return {
    matches: (path) => inc(path) && !exc(path),
    pageMayMatch: (first, last) => !include.length || bases.some((b) => subtreeTouches(b, first, last)),
    rangeMayMatch: (after, before) => !include.length || bases.some((b) => subtreeMeetsOpenRange(b, after, before)),
    describe: () => ({ ...(include.length ? { include: [...include] } : {}), ...(exclude.length ? { exclude: [...exclude] } : {}) }),
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
