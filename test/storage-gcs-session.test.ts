/**
 * The GCS resumable session against a small in-process server that speaks the resumable protocol and can stall
 * requests: retries follow the store's retry policy and a stalled request is cut by the idle timeout. The
 * emulator-backed version through the binary is cloud-gcs-stall.test.ts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createCRC32 } from 'hash-wasm';
import { CRC32C_POLYNOMIAL, ResumableSession, resumableChunk } from '../engine/storage/gcs-resumable.js';
import { classify } from '../engine/storage/gcs.js';
import { isStorageError } from '../engine/storage/storage.js';
import { seededBytes } from './helpers.js';

const t = suite('storage: GCS resumable session retries under the shared policy');

/** A resumable session endpoint keeping the bytes it got; the first `stalls` requests get no answer. */
async function sessionServer(stalls: number) {
  const state = { received: [] as Buffer[], persisted: 0, requests: 0, stalls };
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      state.requests++;
      const body = Buffer.concat(parts);
      const m = /^bytes (\*|(\d+)-(\d+))\/(\*|\d+)$/.exec(String(req.headers['content-range'] ?? ''));
      if (m?.[2] !== undefined && Number(m[2]) <= state.persisted) {
        const fresh = body.subarray(state.persisted - Number(m[2]));
        state.received.push(fresh);
        state.persisted += fresh.length;
      }
      if (state.stalls > 0) { state.stalls--; return; } // stored, but the answer never comes
      if (m?.[4] !== '*' && Number(m?.[4]) === state.persisted) {
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ size: String(state.persisted), generation: '7' }));
      }
      res.writeHead(308, state.persisted ? { range: `bytes=0-${state.persisted - 1}` } : {}).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/upload?upload_id=x`;
  return { state, uri, close: () => { server.closeAllConnections(); server.close(); } };
}

async function session(uri: string, attempts: number, retries: string[]) {
  const policy = { attempts, baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 30_000, onRetry: (op: string) => { retries.push(op); } };
  return new ResumableSession('blobs/packs/p', uri, await createCRC32(CRC32C_POLYNOMIAL), (err, op) => classify(err, op, 'gs://b'), {
    retry: policy, idleTimeoutMs: 200,
  });
}

t('a stalled request is cut by the idle timeout, resynchronised and resent: the object is whole', async () => {
  const server = await sessionServer(2);
  try {
    const retries: string[] = [];
    const s = await session(server.uri, 4, retries);
    const data = seededBytes(3, 2 * resumableChunk + 1234);
    await s.writePart(1, data.subarray(0, resumableChunk + 10));
    await s.writePart(2, data.subarray(resumableChunk + 10));
    const info = await s.complete();
    assert.is(info.size, data.length);
    assert.ok(Buffer.concat(server.state.received).equals(data), 'every byte once, in order');
    assert.is(retries.length, 2);
  } finally {
    server.close();
  }
});

t('every request stalls: fails permanently after the policy\'s attempts, in about attempts × idle timeout', async () => {
  const server = await sessionServer(Infinity);
  try {
    const retries: string[] = [];
    const s = await session(server.uri, 3, retries);
    const started = Date.now();
    const err = await s.writePart(1, seededBytes(4, resumableChunk)).then(() => undefined, (e: unknown) => e);
    const ms = Date.now() - started;
    assert.ok(isStorageError(err, 'permanent'), String(err));
    assert.match(String((err as Error).message), /timed out/);
    assert.is(retries.length, 2);
    assert.is(server.state.requests, 3);
    assert.ok(ms > 2 * 200 && ms < 3 * 3 * 200, `${ms} ms for 3 attempts with a 200 ms idle timeout`);
  } finally {
    server.close();
  }
});

t.run();
