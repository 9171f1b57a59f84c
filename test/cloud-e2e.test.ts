/** `datamover bundle upload/download` through the built binary against s3:// (Ceph RGW) and gs:// (GCS emulator). */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cloudEnv, freshGcsUrl, freshS3Url, openMultipartUploads } from './cloud-stores.js';
import { cli, describeTree, makeMixedTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cloud: end to end through the built binary');

let tree: string | undefined;
/** 10,000 small files, a 9 MiB multi-chunk file, symlinks, and a 40 MiB file that streams as a multipart upload. */
function sourceTree(): string {
  if (tree) return tree;
  tree = tempDir('cloud-src');
  makeMixedTree(tree, 10_000);
  writeFile(tree, 'big/forty.bin', seededBytes(40, 40 * 1024 * 1024 + 777));
  return tree;
}

function roundTrip(store: string) {
  const env = cloudEnv();
  const src = sourceTree();
  assert.is(cli(['--store', store, 'repo', 'create', 'r'], env).stderr, '');
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest'], env);
  assert.is(up.code, 0, up.stderr);
  assert.is(up.stderr, '', 'a quiet upload writes nothing to stderr (no runtime warning either)');
  const first = summaryOf(up.stdout);
  assert.ok(first.newBytes > 50 * 1024 * 1024, `first upload stored ${first.newBytes}`);
  const dest = path.join(tempDir('cloud-dest'), 'out');
  const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'latest'], env);
  assert.is(down.code, 0, down.stderr);
  assert.is(down.stderr, '', 'a download writes nothing to stderr');
  assert.equal(describeTree(dest), describeTree(src));
  const again = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest'], env);
  assert.is(again.code, 0, again.stderr);
  const second = summaryOf(again.stdout);
  assert.ok(second.newBytes < first.newBytes / 100, `second upload stored ${second.newBytes} new bytes of ${first.newBytes}`);
  return store;
}

t('s3:// round trip of 10,006 files + a 40 MiB multipart file is byte-identical; the second upload stores < 1% new bytes', async () => {
  const store = roundTrip(await freshS3Url('e2e'));
  assert.equal(await openMultipartUploads(store), [], 'no incomplete multipart upload is left');
});

t('gs:// round trip of 10,006 files + a 40 MiB resumable file is byte-identical; the second upload stores < 1% new bytes', () => {
  roundTrip(freshGcsUrl('e2e'));
});

t('s3://: an upload with 16 parts in flight writes nothing to stderr (no MaxListenersExceededWarning)', async () => {
  const store = await freshS3Url('e2e-listeners');
  const env = cloudEnv();
  const src = tempDir('cloud-listeners');
  writeFile(src, 'sixty-four.bin', seededBytes(64, 64 * 1024 * 1024));
  assert.is(cli(['--store', store, 'repo', 'create', 'r'], env).stderr, '');
  const up = cli(['--store', store, '--quiet', '--concurrency', '16', 'bundle', 'upload', src, '--repo', 'r'], env);
  assert.is(up.code, 0, up.stderr);
  assert.is(up.stderr, '');
});

t('an unknown scheme and a malformed endpoint are usage errors (exit 2) naming the flag', () => {
  const r = cli(['--store', 'ftp://host/x', 'repo', 'create', 'r']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.includes('ftp://host/x'), r.stderr);
  const e = cli(['--store', 's3://bucket/x', '--endpoint', 'localhost:7480', 'repo', 'create', 'r']);
  assert.is(e.code, 2);
  assert.ok(e.stderr.includes('--endpoint localhost:7480'), e.stderr);
});

t('a missing S3 bucket fails with one line naming the store, exit 1', () => {
  const r = cli(['--store', 's3://dm-no-such-bucket-anywhere/x', 'repo', 'create', 'r'], cloudEnv());
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes('s3://dm-no-such-bucket-anywhere/x/') && r.stderr.includes('does not exist'), r.stderr);
});

t('credentials never appear in output, errors or --json (right and wrong secrets, DATAMOVER_DEBUG on)', async () => {
  const store = await freshS3Url('secrets');
  const src = tempDir('secrets-src');
  writeFile(src, 'a.txt', 'a');
  const outputs: string[] = [];
  const run = (env: Record<string, string>, ...args: string[]) => {
    const r = cli(['--store', store, '--json', ...args], { ...cloudEnv(), DATAMOVER_DEBUG: '1', ...env });
    outputs.push(r.stdout + r.stderr);
    return r;
  };
  assert.is(run({}, 'repo', 'create', 'r').code, 0);
  assert.is(run({}, 'bundle', 'upload', src, '--repo', 'r').code, 0);
  const wrong = 'wrong-Secret-Key-0123456789abcdef';
  const denied = run({ AWS_SECRET_ACCESS_KEY: wrong }, 'bundle', 'list', '--repo', 'r');
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId/);
  run({ AWS_ACCESS_KEY_ID: 'nobody-key', AWS_SECRET_ACCESS_KEY: wrong }, 'bundle', 'list', '--repo', 'r');
  for (const out of outputs) {
    assert.not.ok(out.includes(cloudEnv().AWS_SECRET_ACCESS_KEY!), 'the real secret leaked');
    assert.not.ok(out.includes(wrong), 'the wrong secret leaked');
  }
});

t.run();
