/** The URL space (README "Serve"): pages under `/`, the same data as JSON under `/api/`; anything else is a 404. */
import type { ServeContext } from './context.js';
import { type Exchange, notFoundHere, sendText } from './exchange.js';
import { STYLE } from './html.js';
import { apiRoute } from './api.js';
import { bundlesPage, diffPage, labelsPage, reposPage, timelinePage } from './pages.js';
import { sendFile } from './files.js';
import { sendTar } from './tar-stream.js';
import { bundlePage, filePage, lineagePage, treePage } from './tree-pages.js';
import { bundleTarget, repoParam } from './params.js';

const BUNDLE_VIEWS = { tree: treePage, file: filePage, raw: sendFile, tar: sendTar, lineage: lineagePage } as const;

/** Answers the request, or throws what the error page says (404 for an unknown URL). */
export async function route(ctx: ServeContext, ex: Exchange): Promise<void> {
  const s = ex.segments;
  if (s[0] === 'api') return apiRoute(ctx, ex, s.slice(1));
  if (s.length === 0) return reposPage(ctx, ex);
  if (s.length === 2 && s[0] === 'static' && s[1] === 'style.css') return sendText(ex, 'text/css; charset=utf-8', STYLE);
  if (s.length === 1 && (s[0] === 'log' || s[0] === 'readlog')) return timelinePage(ctx, ex, s[0]);
  if (s[0] !== 'repos' || s.length < 2) throw notFoundHere('page');
  const rest = s.slice(1);
  if (rest.length === 1 || (rest.length === 2 && (rest[1] === '' || rest[1] === 'bundles'))) return bundlesPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest.length === 2 && rest[1] === 'labels') return labelsPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest.length === 2 && rest[1] === 'diff') return diffPage(ctx, ex, repoParam(ctx, rest[0]));
  if (rest[1] !== 'bundles' || rest.length < 3) throw notFoundHere('page');
  if (rest.length === 3 || (rest.length === 4 && rest[3] === '')) return bundlePage(ctx, ex, bundleTarget(ctx, rest));
  const view = BUNDLE_VIEWS[rest[3] as keyof typeof BUNDLE_VIEWS];
  if (!view || !Object.hasOwn(BUNDLE_VIEWS, rest[3]!)) throw notFoundHere('page');
  return view(ctx, ex, bundleTarget(ctx, rest));
}
