/** A split upload against Ceph RGW: four shard processes, one commit, one bundle equal to a single upload's. */
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cloudEnv, freshS3Url, openMultipartUploads } from './cloud-stores.js';
import { cli, cliAwait, describeTree, makeMixedTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { manifestOf, startSession } from './session-helpers.js';

const t = suite('cloud: split upload to s3:// (Ceph RGW)');

t('4 local shard processes then commit: the manifest equals a single-process upload\'s; download round-trips', async () => {
  const env = cloudEnv();
  const store = await freshS3Url('shards');
  const src = tempDir('cloud-shards-src');
  makeMixedTree(src, 2000);
  writeFile(src, 'big/large.bin', seededBytes(77, 24 * 1024 * 1024 + 3));
  assert.is(cli(['--store', store, 'repo', 'create', 'r'], env).code, 0);
  const session = startSession(store, env);
  const shards = await Promise.all([0, 1, 2, 3].map((i) =>
    cliAwait(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', `${i}/4`], env)));
  for (const r of shards) assert.is(r.code, 0, r.stderr);
  const commit = cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'l'], env);
  assert.is(commit.code, 0, commit.stderr);
  const single = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--rehash'], env);
  assert.is(single.code, 0, single.stderr);
  const singleId = summaryOf(single.stdout).bundle as string;
  assert.equal(await manifestOf(store, 'r', session, env), await manifestOf(store, 'r', singleId, env));
  const dest = path.join(tempDir('cloud-shards-dest'), 'out');
  const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l'], env);
  assert.is(down.code, 0, down.stderr);
  assert.equal(describeTree(dest), describeTree(src));
  assert.equal(await openMultipartUploads(store), []);
});

t.run();
