import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAsync, describeTree, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('crash: a killed upload');

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

t('SIGKILL mid-upload leaves no bundle; the rerun completes, reuses what landed, and round-trips', async () => {
  const store = tempDir('kill-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const src = tempDir('kill-src');
  const fileSize = 3 * 1024 * 1024 + 17;
  for (let i = 0; i < 60; i++) writeFile(src, `f${String(i).padStart(3, '0')}.bin`, seededBytes(500 + i, fileSize));
  const total = 60 * fileSize;

  const child = cliAsync(['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r',
    '--label', 'latest', '--pack-size', '4MiB', '--budget', '16MiB']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (countFiles(path.join(store, 'blobs/index')) < 1 && Date.now() < deadline) await sleep(2);
  child.kill('SIGKILL');
  const code = await exited;
  assert.is(code, null, 'killed before it finished (raise the data size if this machine is faster)');

  assert.is(countFiles(path.join(store, 'meta/repos/r/labels')), 0, 'no label');
  const bundles = path.join(store, 'meta/repos/r/bundles');
  const descriptors = existsSync(bundles) ? readdirSync(bundles).filter((id) => existsSync(path.join(bundles, id, 'bundle.json'))) : [];
  assert.equal(descriptors, [], 'no visible bundle');
  assert.ok(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout.trim() === '', 'bundle list is empty');

  const rerun = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest']);
  assert.is(rerun.code, 0, rerun.stderr);
  const summary = JSON.parse(rerun.stdout.trim().split('\n').pop()!);
  assert.is(summary.bytes, total);
  assert.ok(summary.newBytes < total, `rerun reused what landed: ${summary.newBytes} new of ${total}`);
  const dest = tempDir('kill-dest');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'latest']).code, 0);
  assert.equal(describeTree(dest), describeTree(src));
});

t.run();
