/** Helpers for the upload-workflow and folder-comparison tests (issue 17). */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { type CliResult, cli, cliPath, tempDir } from './helpers.js';

export function storeWithRepo(tag = 'wf-store'): string {
  const store = path.join(tempDir(tag), 'store');
  const r = cli(['--store', store, 'repo', 'create', 'r']);
  assert.is(r.code, 0, r.stderr);
  return store;
}

/** Runs the binary with `input` on its stdin (bytes). */
export function cliInput(args: string[], input: Buffer | string): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    input, encoding: 'utf8', env: { ...process.env, DATAMOVER_AUTHOR: 'Test User <test@example.com>' },
  });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** Every entry under `root` (names as bytes, in hex where not UTF-8) → its type and content hash: a store's exact state. */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: Buffer, rel: string) => {
    for (const name of readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare)) {
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = `${rel}/${name.toString('hex')}`;
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        out.set(r, 'dir');
        walk(abs, r);
      } else if (st.isSymbolicLink()) out.set(r, `link ${readlinkSync(abs, { encoding: 'buffer' }).toString('hex')}`);
      else out.set(r, `file ${st.size} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/** The bundle's files as `bundle files` lists them (text mode), path per line. */
export function bundlePaths(store: string, ref: string): string[] {
  const r = cli(['--store', store, '--json', 'bundle', 'files', '--repo', 'r', '--bundle', ref]);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').slice(0, -1).map((l) => JSON.parse(l).entry.path as string);
}
