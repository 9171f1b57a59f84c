/** The URLs of the pages (and the API) for repos, bundles and paths; names are percent-encoded (url-path.ts). */
import { encodeName, encodePath } from './url-path.js';

export const repoUrl = (repo: string): string => `/repos/${encodeName(repo)}`;
export const labelsUrl = (repo: string): string => `${repoUrl(repo)}/labels`;
export const bundleUrl = (repo: string, ref: string): string => `${repoUrl(repo)}/bundles/${encodeName(ref)}`;

/** A directory's page; the root's is `.../tree/`. */
export const treeUrl = (repo: string, ref: string, path: string): string =>
  `${bundleUrl(repo, ref)}/tree/${path ? `${encodePath(path)}/` : ''}`;
export const fileUrl = (repo: string, ref: string, path: string): string => `${bundleUrl(repo, ref)}/file/${encodePath(path)}`;
export const rawUrl = (repo: string, ref: string, path: string): string => `${bundleUrl(repo, ref)}/raw/${encodePath(path)}`;
export const tarUrl = (repo: string, ref: string, path: string): string => `${bundleUrl(repo, ref)}/tar/${encodePath(path)}`;

/** `base` with the given query parameters (undefined ones left out). */
export function withQuery(base: string, params: Record<string, string | number | undefined>): string {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== '');
  return pairs.length ? `${base}?${pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join('&')}` : base;
}
