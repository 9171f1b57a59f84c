/**
 * Names taken from a request: repo names, labels and refs only when spelled as the engine spells them, bundle
 * paths only as names a manifest can hold (url-path.ts). Anything else in the path names nothing (404); in the
 * query it is a malformed request (400).
 */
import { checkName } from '../meta/ids.js';
import type { Repo } from '../repo.js';
import type { ServeContext } from './context.js';
import { badRequest, notFoundHere } from './exchange.js';
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

/** A ref from a query parameter's text; 400 naming the parameter when malformed. */
export function refParam(value: string, name: string): string {
  const ref = nameParam(encodeURIComponent(value));
  if (ref === undefined) throw badRequest(`${name} ${JSON.stringify(value)}: expected a bundle id, an id prefix, a label or latest`);
  return ref;
}

/** What a request under `/repos/<repo>/bundles/<ref>/<view>/<path>` asks for. */
export interface BundleTarget { repo: Repo; ref: string; path: string }

/** The target of `[repo, 'bundles', ref, view, ...path]`; 404 when a part is malformed. */
export function bundleTarget(ctx: ServeContext, segments: string[]): BundleTarget {
  const repo = repoParam(ctx, segments[0]);
  const ref = nameParam(segments[2]);
  if (ref === undefined) throw notFoundHere('bundle');
  const path = pathFromSegments(segments.slice(4));
  if (path === undefined) throw notFoundHere('path');
  return { repo, ref, path };
}
