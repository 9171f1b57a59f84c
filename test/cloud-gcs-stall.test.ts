/**
 * GCS resumable uploads under the shared retry policy: a stalled request is cut by `--timeout` and retried
 * within `--retries`, through a fault proxy in front of the GCS emulator's fidelity proxy. Runs the real binary.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FaultProxy } from './servers/fault-proxy.js';
import { cloudEnv, freshGcsUrl, gcsProxy } from './cloud-stores.js';
import { cliAwait, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cloud: a stalled GCS resumable upload is cut by --timeout and retried within --retries');

let proxy: FaultProxy;
t.before(async () => { proxy = await FaultProxy.start(gcsProxy(), 20261202); });
t.after(async () => { await proxy.stop(); });

/** The binary on `store`, its GCS requests through the fault proxy, a stall cut after `timeout`; --json counts retries. */
function viaProxy(store: string, args: string[], timeout = '1s') {
  return cliAwait(['--store', store, '--timeout', timeout, '--json', ...args], { ...cloudEnv(), STORAGE_EMULATOR_HOST: proxy.url });
}

const retryLines = (stdout: string) => stdout.split('\n').filter((l) => l.includes('"type":"retry"'));

/** The requests of a resumable session (chunks and status queries): PUTs to the session URI. */
const resumablePut = (method: string, url: string) => method === 'PUT' && url.includes('upload_id=');

/** A source whose one pack streams out as a resumable upload: a 16 MiB part, then the rest with the last request. */
function bigSource(seed: number): { src: string; bytes: Buffer } {
  const src = tempDir('gcs-stall-src');
  const bytes = seededBytes(seed, 18 * 1024 * 1024 + 777);
  writeFile(src, 'big.bin', bytes);
  return { src, bytes };
}

t('the first resumable request stalls: cut after --timeout, retried, and the upload round-trips', async () => {
  const store = freshGcsUrl('stall-once');
  assert.is((await viaProxy(store, ['repo', 'create', 'r'])).code, 0);
  const { src, bytes } = bigSource(41);
  let stalls = 0;
  proxy.configure({ rate: 1, faults: ['stall'], match: (method, url) => resumablePut(method, url) && stalls++ === 0 });
  const started = Date.now();
  // 4 s, not 1 s: on a loaded machine the emulator itself can pause a healthy request for over a second.
  const up = await viaProxy(store, ['--retries', '3', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'], '4s');
  const seconds = (Date.now() - started) / 1000;
  proxy.configure({ rate: 0 });
  assert.is(up.code, 0, up.stderr);
  const retries = retryLines(up.stdout);
  assert.ok(retries.length >= 1, 'the stalled request was retried');
  assert.match(retries[0]!, /timed out/);
  // One stall cut after 4 s, where the default timeout would wait 60 s; the rest is the upload itself (~2 s here).
  console.log(`  upload with one stalled request: ${seconds.toFixed(1)} s, ${retries.length} retry`);
  assert.ok(seconds < 30, `took ${seconds.toFixed(1)} s`);
  const dest = path.join(tempDir('gcs-stall-dest'), 'out');
  const down = await viaProxy(store, ['bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(down.code, 0, down.stderr);
  assert.ok(readFileSync(path.join(dest, 'big.bin')).equals(bytes), 'byte-identical');
});

t('every resumable request stalls: the upload fails with STORAGE, one line, after --retries retries and in bounded time', async () => {
  const store = freshGcsUrl('stall-always');
  assert.is((await viaProxy(store, ['repo', 'create', 'r'])).code, 0);
  const { src } = bigSource(42);
  proxy.configure({ rate: 1, faults: ['stall'], match: resumablePut });
  const started = Date.now();
  const up = await viaProxy(store, ['--retries', '2', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  const seconds = (Date.now() - started) / 1000;
  proxy.configure({ rate: 0 });
  assert.is(up.code, 1, up.stderr);
  assert.is(up.stderr.trim().split('\n').length, 1, up.stderr);
  assert.match(up.stderr, /timed out/);
  assert.is(summaryOf(up.stdout).error.code, 'STORAGE');
  const retries = retryLines(up.stdout).filter((l) => l.includes('"op":"upload blobs/'));
  assert.is(retries.length, 2, retries.join('\n'));
  // 3 attempts of 1 s each plus backoff, hashing and the process start: well under 3× that, never the 60 s default.
  console.log(`  upload whose every resumable request stalls: failed after ${seconds.toFixed(1)} s`);
  assert.ok(seconds < 15, `gave up after ${seconds.toFixed(1)} s with a 1 s timeout and 2 retries`);
});

t.run();
