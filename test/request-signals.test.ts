/**
 * Many requests in flight on one abort signal: the HTTP clients add a listener or two a request (and remove them
 * when it ends). Past 10 at once Node prints MaxListenersExceededWarning on stderr: seen on a 1 GiB upload to
 * RGW with 8 parts in flight. Checked against stub servers, so it runs without the cloud servers.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { S3Storage } from '../engine/storage/s3.js';
import type { Storage } from '../engine/storage/storage.js';

const t = suite('storage: many requests on one signal');

/** Answers every request after `delayMs` with 200, an ETag, and (for GCS JSON reads) an empty object. */
async function slowServer(delayMs: number) {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => {
      res.writeHead(200, { ETag: '"e"', 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ name: 'k', bucket: 'b', generation: '1', etag: 'e', size: '1' }));
    }, delayMs));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

async function warningsDuring(fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error) => seen.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

async function putsOnOneSignal(storage: Storage): Promise<void> {
  const signal = new AbortController().signal;
  await Promise.all(Array.from({ length: 24 }, (_, i) => storage.put(`k${i}`, Buffer.from('x'), { signal })));
}

t('s3: 24 puts in flight on one signal print no MaxListenersExceededWarning', async () => {
  const server = await slowServer(100);
  const saved = { ...process.env };
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
  try {
    const s3 = new S3Storage('s3://stub-bucket/p', { endpoint: server.url });
    assert.equal(await warningsDuring(() => putsOnOneSignal(s3)), []);
  } finally {
    process.env = saved;
    server.close();
  }
});

t.run();
