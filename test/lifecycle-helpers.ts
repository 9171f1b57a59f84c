/** Test helpers of the data-lifecycle tests: a seeded bundle history with chosen times. */
import { ulid } from 'ulid';
import { openStore } from '../engine/index.js';
import { commitBundle } from '../engine/meta/commit.js';
import { readAll } from '../engine/storage/storage.js';
import { type BundleDescriptor, keys } from '../engine/vocab.js';
import { tempDir, who, writeFile } from './helpers.js';

/**
 * Makes a store at `store` with repo `repo` and one real uploaded bundle, then commits one bundle per time of
 * `times` (ms; ids made at that time, so they sort by it), each a copy of the uploaded one with its own
 * manifest page, `created` at that time and the previous one as parent. Returns the seeded bundles' ids in
 * the order of `times`. The uploaded template bundle is forgotten again, so only the seeded ones remain.
 */
export async function seedHistory(store: string, repo: string, times: readonly number[]): Promise<string[]> {
  const s = await openStore({ url: store, create: true });
  await s.createRepo(repo, { contributor: who });
  const src = tempDir('seed-src');
  writeFile(src, 'data.txt', 'seeded history\n');
  const r = s.repo(repo);
  const template = (await r.upload({ source: src, contributor: who })).bundle;
  const page = await readAll(s.storage, template.pages[0]!.key);
  const ids: string[] = [];
  let parent: string | undefined;
  for (const t of times) {
    const id = ulid(t);
    const key = keys.manifestPage(repo, id, 0);
    await s.storage.put(key, page, { ifAbsent: true });
    const b: BundleDescriptor = {
      ...template, id, created: new Date(t).toISOString(), parents: parent ? [parent] : [], pages: [{ ...template.pages[0]!, key }],
    };
    await commitBundle(s.storage, b);
    ids.push(id);
    parent = id;
  }
  await r.forget({ refs: [template.id], contributor: who });
  return ids;
}
