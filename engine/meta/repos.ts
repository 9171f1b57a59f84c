import { DatamoverError, notFound } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import { type CompressionLevel, type Contributor, type RepoDescriptor, keys } from '../vocab.js';
import { checkName } from './ids.js';
import { putJson, readJson } from './objects.js';
import { repoDescriptor } from './validate.js';
import { appendWal } from './wal.js';

/**
 * Creates a repo (create-only, naming the store's principal) and its `repo.create` WAL record. Fails with
 * ALREADY_EXISTS if taken. Compression `off` is not recorded: such a repo reads as one made before compression existed.
 */
export async function createRepo(
  storage: Storage, name: string, description: string, contributor: Contributor, compression: CompressionLevel = 'off',
): Promise<RepoDescriptor> {
  checkName(name, 'repo');
  const principal = await storage.identity(keys.repo(name));
  const repo: RepoDescriptor = {
    name, description, created: new Date().toISOString(), contributor, principal, ...(compression !== 'off' ? { compression } : {}),
  };
  const result = await putJson(storage, keys.repo(name), repo, { ifAbsent: true });
  if (result.status !== 'written') throw new DatamoverError('ALREADY_EXISTS', `repo ${name} already exists`);
  await appendWal(storage, 'repo.create', name, contributor, { description });
  return repo;
}

/** The repo's descriptor. Fails with NOT_FOUND naming the repo. */
export async function getRepo(storage: Storage, name: string): Promise<RepoDescriptor> {
  checkName(name, 'repo');
  const repo = await readJson(storage, keys.repo(name), repoDescriptor(name));
  if (!repo) throw notFound(`repo ${name} not found in ${storage.url}`);
  return repo;
}

export async function listRepos(storage: Storage): Promise<RepoDescriptor[]> {
  const repos: RepoDescriptor[] = [];
  for await (const entry of storage.list(keys.reposPrefix, { delimiter: '/' })) {
    if (!entry.isPrefix) continue;
    const name = entry.key.slice(keys.reposPrefix.length, -1);
    const repo = await readJson(storage, keys.repo(name), repoDescriptor(name));
    if (repo) repos.push(repo);
  }
  return repos;
}
