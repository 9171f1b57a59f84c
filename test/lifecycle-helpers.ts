/** Test helpers of the data-lifecycle tests: stores of uploaded trees, a seeded bundle history with chosen times. */
import { ulid } from 'ulid';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { commitBundle } from '../engine/meta/commit.js';
import { readAll } from '../engine/storage/storage.js';
import { type BundleDescriptor, keys } from '../engine/vocab.js';
import { type CliResult, cli, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { storeWithRepo } from './workflow-helpers.js';

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

/** The binary, run on one store. */
export type StoreCli = (...args: string[]) => CliResult;

/** A new local store (in a temp dir named after `tag`) holding repo `r`, and the binary run on it. */
export function cliStore(tag: string): { store: string; run: StoreCli } {
  const store = storeWithRepo(tag);
  return { store, run: (...args) => cli(['--store', store, ...args]) };
}

/** Uploads `src` to repo r with the flags `more`; fails the test unless that succeeds. Returns the bundle's id. */
export function uploadTo(run: StoreCli, src: string, ...more: string[]): string {
  const r = run('--json', 'bundle', 'upload', src, '--repo', 'r', ...more);
  assert.is(r.code, 0, r.stderr);
  return summaryOf(r.stdout).bundle as string;
}

/**
 * A new store (cliStore) with `count` source trees uploaded to repo r in turn: tree i is filled by
 * `fill(dir, i)` and uploaded with the flags `flags(i)`. `srcs[i]` is tree i and `ids[i]` its bundle.
 */
export function storeOfTrees(tag: string, count: number, fill: (src: string, i: number) => void, flags: (i: number) => string[] = () => []) {
  const { store, run } = cliStore(tag);
  const srcs = Array.from({ length: count }, (_, i) => {
    const src = tempDir(`${tag}-src${i}`);
    fill(src, i);
    return src;
  });
  const ids = srcs.map((src, i) => uploadTo(run, src, ...flags(i)));
  return { store, run, srcs, ids };
}
