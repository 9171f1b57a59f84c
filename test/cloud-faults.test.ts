/**
 * Damaged bytes and failed uploads against the real servers: a corrupted body is refused by the server (never
 * stored silently) and a failed upload leaves no incomplete multipart upload behind.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { uploadBundle } from '../engine/upload/upload.js';
import { RetryingStorage } from '../engine/storage/retry.js';
import type { S3Storage } from '../engine/storage/s3.js';
import { type Storage, StorageError, isStorageError, readAll } from '../engine/storage/storage.js';
import { freshGcs, freshS3, gcsProxy, openMultipartUploads } from './cloud-stores.js';
import { keys } from '../engine/vocab.js';
import { seededBytes, tempDir, writeFile, who, withRepo } from './helpers.js';

const MiB = 1024 * 1024;
let wires = 0;

/** Flips one byte of the next `times` request bodies of `command`, after signing: damage on the wire. */
function corruptOnTheWire(s3: S3Storage, command: string, times: number): { refused: () => number } {
  let left = times;
  let refused = 0;
  s3.client.middlewareStack.add((next, context) => async (args) => {
    const req = args.request as { body?: unknown };
    const hit = context.commandName === command && left > 0;
    if (hit && req.body instanceof Uint8Array) {
      left--;
      const damaged = Buffer.from(req.body);
      damaged[damaged.length >> 1]! ^= 0x40;
      req.body = damaged;
    } else if (hit && req.body && typeof (req.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function') {
      left--;
      const parts: Buffer[] = [];
      for await (const p of req.body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(p));
      const damaged = Buffer.concat(parts);
      damaged[damaged.length >> 1]! ^= 0x40;
      req.body = damaged;
    }
    try {
      return await next(args);
    } catch (err) {
      if (hit) refused++;
      throw err;
    }
  }, { step: 'finalizeRequest', priority: 'low', name: `corruptOnTheWire${++wires}` });
  return { refused: () => refused };
}

const t = suite('cloud: corrupted bodies and failed uploads');

t('s3: a part damaged on the wire is refused by RGW (retryable); the retry stores the right bytes', async () => {
  const s3 = await freshS3('corrupt');
  const wire = corruptOnTheWire(s3, 'UploadPartCommand', 1);
  const data = [seededBytes(1, 6 * MiB), seededBytes(2, 3 * MiB)];
  const raw = await s3.openMultipart('damaged');
  try {
    await raw.writePart(1, data[0]!);
    assert.unreachable('the damaged part was accepted');
  } catch (err) {
    assert.ok(isStorageError(err, 'retryable'), String(err));
    assert.match(String(err), /XAmzContentSHA256Mismatch|BadDigest/);
  }
  await raw.abort();
  assert.is(await s3.stat('damaged'), undefined);

  const again = corruptOnTheWire(s3, 'UploadPartCommand', 1);
  const retrying = new RetryingStorage(s3);
  const up = await retrying.openMultipart('healed');
  await up.writePart(1, data[0]!);
  await up.writePart(2, data[1]!);
  await up.complete();
  assert.is(wire.refused() + again.refused(), 2);
  assert.ok((await readAll(s3, 'healed')).equals(Buffer.concat(data)), 'stored bytes are the sent bytes');
});

t('s3: a put damaged on the wire is refused and nothing is stored', async () => {
  const s3 = await freshS3('corrupt-put');
  const wire = corruptOnTheWire(s3, 'PutObjectCommand', 1);
  const err = await s3.put('obj', [seededBytes(3, 100_000), seededBytes(4, 5)]).catch((e: unknown) => e);
  assert.ok(isStorageError(err, 'retryable'), String(err));
  assert.is(wire.refused(), 1);
  assert.is(await s3.stat('obj'), undefined);
});

/** A loopback HTTP proxy that flips one byte in the body of the first `times` requests carrying > 64 KiB. */
async function corruptingProxy(target: string, times: number) {
  const upstream = new URL(target);
  let left = times;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > 64 * 1024 && left > 0) { left--; body[body.length >> 1]! ^= 0x40; }
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      out.on('error', () => res.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

t('gcs: a resumable chunk damaged on the wire fails the upload on the CRC32C check; nothing is stored', async () => {
  const proxy = await corruptingProxy(gcsProxy(), 1);
  try {
    const gcs = freshGcs('corrupt', proxy.url);
    const up = await gcs.openMultipart('damaged');
    await up.writePart(1, seededBytes(5, 600 * 1024));
    await up.writePart(2, seededBytes(6, 300 * 1024));
    const err = await up.complete().catch((e: unknown) => e);
    assert.instance(err, StorageError);
    assert.match(String(err), /CRC32C/);
    assert.is(await gcs.stat('damaged'), undefined);
  } finally {
    proxy.close();
  }
});

t('gcs: a simple upload damaged on the wire is refused on its CRC32C; nothing is stored', async () => {
  const proxy = await corruptingProxy(gcsProxy(), 1);
  try {
    const gcs = freshGcs('corrupt-put', proxy.url);
    const err = await gcs.put('obj', seededBytes(7, 200_000)).catch((e: unknown) => e);
    assert.instance(err, StorageError);
    assert.is(await gcs.stat('obj'), undefined);
  } finally {
    proxy.close();
  }
});

/** Fails the second part of every multipart upload, after holding back the first until the second has failed. */
function failSecondPart(inner: Storage): Storage {
  return Object.assign(Object.create(inner) as Storage, {
    openMultipart: async (key: string) => {
      const up = await inner.openMultipart(key);
      let secondFailed!: () => void;
      const failed = new Promise<void>((r) => { secondFailed = r; });
      return {
        ...up,
        writePart: async (n: number, body: Uint8Array | readonly Uint8Array[]) => {
          if (n === 2) { secondFailed(); throw new StorageError('permanent', 'injected: part 2 refused'); }
          if (n === 1) await failed;
          return up.writePart(n, body);
        },
        complete: () => up.complete(),
        abort: () => up.abort(),
      };
    },
  });
}

t('s3: a failed upload aborts its multipart uploads after in-flight parts settle: ListMultipartUploads is empty', async () => {
  const s3 = await freshS3('orphans');
  const storage = failSecondPart(new RetryingStorage(s3));
  await withRepo(storage);
  const src = tempDir('orphans');
  writeFile(src, 'big.bin', seededBytes(9, 40 * MiB));
  const err = await uploadBundle({ storage, repo: 'r', source: src, contributor: who }).catch((e: unknown) => e);
  assert.match(String(err), /injected: part 2 refused/);
  assert.equal(await openMultipartUploads(s3.url), []);
  const descriptors: string[] = [];
  for await (const e of s3.list(keys.bundlesPrefix('r'))) if (e.key.endsWith('/bundle.json')) descriptors.push(e.key);
  assert.equal(descriptors, [], 'no bundle is visible');
});

t.run();
