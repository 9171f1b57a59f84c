/**
 * `repo delete`: removes a repo, its bundles, labels and split-upload sessions; its WAL and read log stay (the
 * audit trail), with a `repo.delete` record. Order (docs/gc.md relies on it): the WAL record, then `repo.json`
 * — the repo vanishes from every listing at once, and its bundles stop being live for gc — then labels, each
 * bundle (descriptor, then its pages), whatever else lies under the repo's prefix, and its sessions. Packs and
 * index objects are never deleted here: `gc` reclaims what no other repo needs.
 */
import { notFound } from '../errors.js';
import { checkName } from '../meta/ids.js';
import { readJson } from '../meta/objects.js';
import { sessionRecord } from '../meta/validate.js';
import { appendWal } from '../meta/wal.js';
import { type Storage, childNames, holdsAny } from '../storage/storage.js';
import { type Contributor, keys } from '../vocab.js';
import { deleteUnder } from './forget.js';

export interface RepoDeleteResult {
  repo: string;
  bundles: number;
  labels: number;
  sessions: number;
  /** The repo's descriptor was already gone: this run finished an earlier, interrupted delete. */
  resumed: boolean;
}

const repoPrefix = (repo: string) => `${keys.reposPrefix}${repo}/`;

/**
 * Deletes repo `name` (see above). Idempotent: a rerun after a crash finishes the cleanup, even once
 * `repo.json` is gone. NOT_FOUND when there is neither the repo nor anything of it left to clean.
 */
export async function deleteRepo(storage: Storage, name: string, contributor: Contributor): Promise<RepoDeleteResult> {
  checkName(name, 'repo');
  const exists = (await storage.stat(keys.repo(name))) !== undefined;
  const sessions = await sessionsOf(storage, name);
  if (!exists && !sessions.length && !(await holdsAny(storage, repoPrefix(name)))) {
    throw notFound(`repo ${name} not found in ${storage.url}`);
  }
  await appendWal(storage, 'repo.delete', name, contributor, { resumed: !exists });
  await storage.delete([keys.repo(name)]);
  const labels = await deleteUnder(storage, keys.labelsPrefix(name));
  let bundles = 0;
  for (const id of await childNames(storage, keys.bundlesPrefix(name))) {
    if (await storage.stat(keys.bundle(name, id))) bundles++;
    await storage.delete([keys.bundle(name, id)]);
    await deleteUnder(storage, `${keys.bundlesPrefix(name)}${id}/`);
  }
  await deleteUnder(storage, repoPrefix(name));
  for (const id of sessions) {
    await storage.delete([keys.session(id)]);
    await deleteUnder(storage, `meta/sessions/${id}/`);
  }
  return { repo: name, bundles, labels, sessions: sessions.length, resumed: !exists };
}

/** Ids of the split-upload sessions of `repo` (a damaged session record names no repo: left alone). */
async function sessionsOf(storage: Storage, repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const id of await childNames(storage, 'meta/sessions/')) {
    const session = await readJson(storage, keys.session(id), sessionRecord(id)).catch(() => undefined);
    if (session?.repo === repo) out.push(id);
  }
  return out;
}
