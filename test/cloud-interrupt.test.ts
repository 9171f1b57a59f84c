/**
 * SIGINT and SIGTERM mid-upload to s3:// (Ceph RGW), through the binary: the open multipart upload is aborted
 * once its parts settle (none is left on the server), nothing is committed, fsck is clean, and the rerun
 * completes and round-trips byte for byte.
 */
import path from 'node:path';
import { ListPartsCommand } from '@aws-sdk/client-s3';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Storage } from '../engine/storage/s3.js';
import { cloudEnv, freshS3Url, openMultipartUploads, s3Endpoint } from './cloud-stores.js';
import { cli, describeTree, summaryOf, tempDir } from './helpers.js';
import { bigSource, interruptWhen, stderrLines } from './interrupt-helpers.js';

const t = suite('cloud: an interrupted upload to RGW');



/** Whether a part of some multipart upload in the bucket of `url` is stored on the server. */
async function partOnServer(url: string): Promise<boolean> {
  const bucket = /^s3:\/\/([^/]+)/.exec(url)![1]!;
  const client = new S3Storage(`s3://${bucket}`, { endpoint: s3Endpoint() }).client;
  for (const upload of await openMultipartUploads(url)) {
    const [Key, UploadId] = upload.split(' ');
    const parts = await client.send(new ListPartsCommand({ Bucket: bucket, Key, UploadId }));
    if (parts.Parts?.length) return true;
  }
  return false;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t(`${signal} once a part is on the server: exit 130, one stderr line, no multipart upload left, fsck clean; the rerun round-trips`, async () => {
    const env = cloudEnv();
    const src = bigSource('cint-src', 1900);
    const store = await freshS3Url('interrupt');
    assert.is(cli(['--store', store, 'repo', 'create', 'r'], env).code, 0);
    const args = ['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'];
    const r = await interruptWhen(args, async (events) => events.some((e) => e.type === 'upload.progress') && partOnServer(store), [signal], { env });
    assert.is(r.code, 130, r.stderr);
    assert.is(stderrLines(r).length, 1, r.stderr);
    assert.is(summaryOf(r.stdout).interrupted, true);
    assert.equal(await openMultipartUploads(store), [], 'no multipart upload left on the server');
    assert.is(cli(['--store', store, 'bundle', 'list', '--repo', 'r'], env).stdout, '', 'no bundle committed');
    const check = cli(['--store', store, 'fsck'], env);
    assert.is(check.code, 0, check.stdout + check.stderr);

    const rerun = cli(['--store', store, '--json', ...args.slice(2)], env);
    assert.is(rerun.code, 0, rerun.stderr);
    const dest = path.join(tempDir('cint-dest'), 'out');
    const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l'], env);
    assert.is(down.code, 0, down.stderr);
    assert.equal(describeTree(dest), describeTree(src));
    assert.equal(await openMultipartUploads(store), []);
  });
}

t.run();
