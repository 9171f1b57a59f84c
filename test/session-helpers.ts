/** Helpers for the split-upload tests, local and on RGW. */
import * as assert from 'uvu/assert';
import { getBundle } from '../engine/meta/bundles.js';
import { readEntries } from '../engine/meta/manifest.js';
import { openStorage } from '../engine/storage/open.js';
import type { FileEntry } from '../engine/vocab.js';
import { cli } from './helpers.js';

/** The bundle's manifest, entry by entry. */
export async function manifestOf(store: string, repo: string, id: string, env: Record<string, string> = {}): Promise<FileEntry[]> {
  const storage = openStorage(store, { endpoint: env.AWS_ENDPOINT_URL_S3 });
  const out: FileEntry[] = [];
  for await (const e of readEntries(storage, (await getBundle(storage, repo, id)).pages)) out.push(e);
  return out;
}

export function startSession(store: string, env: Record<string, string> = {}): string {
  const r = cli(['--store', store, 'session', 'start', '--repo', 'r', '--message', 'split'], env);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim();
}

