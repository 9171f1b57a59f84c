/**
 * Network faults between datamover and Ceph RGW: a seeded fault proxy (test/servers/fault-proxy.ts) answers
 * 503 SlowDown, resets connections mid-body, stalls and truncates on 30% of requests. Runs the real binary.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FAULTS, FaultProxy } from './servers/fault-proxy.js';
import { cloudEnv, freshS3Url, openMultipartUploads, s3Endpoint } from './cloud-stores.js';
import { cliAsync, cliAwait, describeTree, makeMixedTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cloud: uploads and downloads through a faulty network');

// A failed start is each test's failure (naming why), never a hook error that ends the whole run.
let started: Promise<FaultProxy> | undefined;
const faultProxy = () => (started ??= Promise.resolve().then(() => FaultProxy.start(s3Endpoint(), 20261124)));
t.after(async () => { await started?.then((p) => p.stop(), () => undefined); });

/**
 * The binary against `store` through the proxy; --json, so retries are counted. The fault tests cut stalls
 * after 1 s of silence; a test of the defaults passes `idleTimeout` null (60 s, as a real run has).
 */
async function viaProxy(store: string, args: string[], idleTimeout: string | null = '1s') {
  const timeout = idleTimeout ? ['--timeout', idleTimeout] : [];
  const proxy = await faultProxy();
  return cliAwait(['--store', store, '--endpoint', proxy.url, ...timeout, '--json', ...args], cloudEnv());
}

const retriesIn = (stdout: string) => stdout.split('\n').filter((l) => l.includes('"type":"retry"')).length;

function sourceTree(): string {
  const src = tempDir('faults-src');
  makeMixedTree(src, 2000);
  writeFile(src, 'big/thirty.bin', seededBytes(30, 30 * 1024 * 1024 + 4321));
  return src;
}

t('30% faults (SlowDown, resets, stalls, truncation): upload and download complete byte-identical, no multipart left', async () => {
  const proxy = await faultProxy();
  const store = await freshS3Url('faults');
  const src = sourceTree();
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], cloudEnv())).code, 0);
  proxy.configure({ rate: 0.3, faults: FAULTS });
  const before = structuredClone(proxy.counts);
  // Small packs, so the 30 MiB file is several multipart uploads and the download many ranged reads.
  const up = await viaProxy(store, ['--retries', '20', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--pack-size', '6MiB']);
  assert.is(up.code, 0, up.stderr);
  const dest = path.join(tempDir('faults-dest'), 'out');
  const down = await viaProxy(store, ['--retries', '20', 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(down.code, 0, down.stderr);
  assert.equal(describeTree(dest), describeTree(src));
  for (const fault of FAULTS) {
    assert.ok(proxy.counts.byFault[fault] > before.byFault[fault], `no ${fault} was injected: ${JSON.stringify(proxy.counts)}`);
  }
  const faults = proxy.counts.faulted - before.faulted;
  const retries = retriesIn(up.stdout) + retriesIn(down.stdout);
  assert.ok(retries >= faults * 0.9, `${faults} faults injected but ${retries} retries reported`);
  console.log(`  ${proxy.counts.requests - before.requests} requests, ${faults} faults injected (${JSON.stringify(proxy.counts.byFault)}), ${retries} retries`);
  proxy.configure({ rate: 0 });
  const verify = await cliAwait(['--store', store, 'fsck', '--read-data'], cloudEnv());
  assert.is(verify.code, 0, verify.stderr);
  assert.equal(await openMultipartUploads(store), []);
});

t('without faults nothing is retried', async () => {
  const proxy = await faultProxy();
  const store = await freshS3Url('nofaults');
  const src = tempDir('nofaults-src');
  makeMixedTree(src, 50);
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], cloudEnv())).code, 0);
  proxy.configure({ rate: 0 });
  // The default idle timeout: a 1 s one would call a slow CreateMultipartUpload on a busy RGW a stall.
  const up = await viaProxy(store, ['bundle', 'upload', src, '--repo', 'r', '--label', 'l'], null);
  const down = await viaProxy(store, ['bundle', 'download', path.join(tempDir('nofaults-dest'), 'out'), '--repo', 'r', '--label', 'l'], null);
  assert.is(up.code, 0, up.stderr);
  assert.is(down.code, 0, down.stderr);
  assert.is(retriesIn(up.stdout) + retriesIn(down.stdout), 0, [up.stdout, down.stdout].join("\n").split("\n").filter((l) => l.includes("retry")).join("\n"));
});

t('retries stop at --retry-deadline: a server answering only SlowDown fails the command in time, one line, exit 1', async () => {
  const proxy = await faultProxy();
  const store = await freshS3Url('deadline');
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], cloudEnv())).code, 0);
  proxy.configure({ rate: 1, faults: ['slowdown'] });
  const started = Date.now();
  const r = await viaProxy(store, ['--retries', '1000', '--retry-deadline', '3s', 'bundle', 'list', '--repo', 'r']);
  const seconds = (Date.now() - started) / 1000;
  proxy.configure({ rate: 0 });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /SlowDown/);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(retriesIn(r.stdout) >= 3, `${retriesIn(r.stdout)} retries before the deadline`);
  assert.ok(seconds < 10, `gave up after ${seconds.toFixed(1)} s, deadline 3 s`);
});

t('a stalled connection is cut by the idle timeout and the request retried; all stalls means a clear failure, not a hang', async () => {
  const proxy = await faultProxy();
  const store = await freshS3Url('stall');
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], cloudEnv())).code, 0);
  proxy.configure({ rate: 1, faults: ['stall'] });
  const started = Date.now();
  const r = await viaProxy(store, ['--retries', '2', 'bundle', 'list', '--repo', 'r']);
  const seconds = (Date.now() - started) / 1000;
  proxy.configure({ rate: 0 });
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /timed out|TimeoutError/);
  const retries = r.stdout.split('\n').filter((l) => l.includes('"type":"retry"'));
  assert.ok(retries.length >= 2, `${retries.length} retries`);
  for (const line of retries) assert.match(line, /timed out|TimeoutError/);
  assert.ok(seconds < 15, `gave up after ${seconds.toFixed(1)} s with a 1 s idle timeout and 2 retries`);
});

t('an upload whose every multipart completion fails aborts its uploads: no bundle, no label, no multipart left', async () => {
  const proxy = await faultProxy();
  const store = await freshS3Url('orphans');
  const src = tempDir('orphans-src');
  // One 40 MiB pack: a multipart upload of 16 MiB parts.
  writeFile(src, 'big.bin', seededBytes(7, 40 * 1024 * 1024));
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], cloudEnv())).code, 0);
  // CompleteMultipartUpload is a POST naming the upload id; everything else goes through.
  proxy.configure({ rate: 1, faults: ['slowdown'], match: (method, url) => method === 'POST' && url.includes('uploadId=') });
  const r = await viaProxy(store, ['--retries', '2', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  proxy.configure({ rate: 0 });
  assert.is(r.code, 1, r.stderr);
  assert.equal(await openMultipartUploads(store), []);
  const list = await cliAwait(['--store', store, '--json', 'bundle', 'list', '--repo', 'r'], cloudEnv());
  assert.is(list.code, 0, list.stderr);
  assert.equal(summaryOf(list.stdout).bundles, []);
  assert.is((await cliAwait(['--store', store, 'label', 'get', 'l', '--repo', 'r'], cloudEnv())).code, 1);
});

t('a killed upload leaves a multipart upload behind; fsck --abort-stale-uploads removes it once old enough', async () => {
  const store = await freshS3Url('stale');
  const src = tempDir('stale-src');
  writeFile(src, 'big.bin', seededBytes(9, 60 * 1024 * 1024));
  const env = cloudEnv();
  assert.is((await cliAwait(['--store', store, 'repo', 'create', 'r'], env)).code, 0);
  const child = cliAsync(['--store', store, '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r'], env);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const deadline = Date.now() + 30_000;
  while ((await openMultipartUploads(store)).length === 0 && Date.now() < deadline) await sleep(20);
  child.kill('SIGKILL');
  await exited;
  const left = await openMultipartUploads(store);
  assert.ok(left.length > 0, 'the kill left an incomplete multipart upload');
  const young = await cliAwait(['--store', store, '--json', 'fsck', '--abort-stale-uploads', '1h'], env);
  assert.is(young.code, 0, young.stderr);
  assert.is(summaryOf(young.stdout).abortedUploads, 0, 'an upload younger than the age is left alone (it may be running)');
  assert.is(summaryOf(young.stdout).pendingUploads.count, left.length, 'fsck counts the unfinished multipart uploads');
  await sleep(2_100);
  const old = await cliAwait(['--store', store, '--json', 'fsck', '--abort-stale-uploads', '1s'], env);
  assert.is(old.code, 0, old.stderr);
  assert.is(summaryOf(old.stdout).abortedUploads, left.length);
  assert.equal(await openMultipartUploads(store), []);
});

t.run();
