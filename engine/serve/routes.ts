/**
 * The URL space (README "Serve"): pages under `/`, the same data as JSON under `/api/`. Repo names and refs
 * are taken only when spelled as the engine spells them, and bundle paths only as names a manifest can hold
 * (url-path.ts); anything else names nothing, a 404.
 */
import { checkName } from '../meta/ids.js';
import type { Repo } from '../repo.js';
import type { ServeContext } from './context.js';
import { type Exchange, notFoundHere, sendText } from './exchange.js';
import { STYLE } from './html.js';
import { apiRoute } from './api.js';
import { bundlesPage, diffPage, labelsPage, reposPage, timelinePage } from './pages.js';
import { sendFile } from './files.js';
import { sendTar } from './tar-stream.js';
import { bundlePage, filePage, treePage } from './tree-pages.js';
import { nameFromSegment, pathFromSegments } from './url-path.js';

/** A repo, label or ref from one URL segment; undefined unless it is a well-formed name. */
export function nameParam(segment: string | undefined): string | undefined {
  const name = segment === undefined ? undefined : nameFromSegment(segment);
  if (name === undefined) return undefined;
  try {
    return checkName(name, 'label');
  } catch {
    return undefined;
  }
}

/** The repo a segment names (not yet checked to exist); 404 when malformed. */
export function repoParam(ctx: ServeContext, segment: string | undefined): Repo {
  const name = nameParam(segment);
  if (name === undefined) throw notFoundHere('repo');
  return ctx.store.repo(name);
}

/** What a request under `/repos/<repo>/bundles/<ref>/<view>/...` asks for. */
export interface BundleTarget { repo: Repo; ref: string; path: string }

function bundleTarget(ctx: ServeContext, segments: string[]): BundleTarget {
  const repo = repoParam(ctx, segments[0]);
  const ref = nameParam(segments[2]);
  if (ref === undefined) throw notFoundHere('bundle');
  const path = pathFromSegments(segments.slice(4));
  if (path === undefined) throw notFoundHere('path');
  return { repo, ref, path };
}

const BUNDLE_VIEWS = { tree: treePage, file: filePage, raw: sendFile, tar: sendTar } as const;

/** Answers the request, or throws what the error page says (404 for an unknown URL). */
export async function route(ctx: ServeContext, ex: Exchange): Promise<void> {
  const s = ex.segments;
  if (s[0] === 'api') return apiRoute(ctx, ex, s.slice(1));
  if (s.length === 0) return reposPage(ctx, ex);
  if (s.length === 2 && s[0] === 'static' && s[1] === 'style.css') return sendText(ex, 'text/css; charset=utf-8', STYLE);
  if (s.length === 1 && (s[0] === 'log' || s[0] === 'readlog')) return timelinePage(ctx, ex, s[0]);
  if (s[0] !== 'repos' || s.length < 2) throw notFoundHere('page');
  const rest = s.slice(1);
  if (rest.length === 1 || (rest.length === 2 && rest[1] === '')) return bundlesPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest.length === 2 && rest[1] === 'labels') return labelsPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest.length === 2 && rest[1] === 'diff') return diffPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest[1] !== 'bundles' || rest.length < 3) throw notFoundHere('page');
  if (rest.length === 3 || (rest.length === 4 && rest[3] === '')) return bundlePage(ctx, ex, bundleTarget(ctx, rest));
  const view = BUNDLE_VIEWS[rest[3] as keyof typeof BUNDLE_VIEWS];
  if (!view || !Object.hasOwn(BUNDLE_VIEWS, rest[3]!)) throw notFoundHere('page');
  return view(ctx, ex, bundleTarget(ctx, rest));
}
