/**
 * `datamover bench`: storage throughput, not datamover's. PUT, GET, LIST and DELETE of objects of given sizes
 * at given concurrencies, under a fresh `bench/<id>/` prefix that is removed afterwards. Bytes are counted as
 * they move (a GET's bytes are those its stream delivered), so a row's MB/s is what the store really served.
 */
import { createHash, randomBytes } from 'node:crypto';
import { forEachLimited } from '../runtime/concurrency.js';
import { newId } from '../meta/ids.js';
import type { Storage } from '../storage/storage.js';

export type BenchOp = 'put' | 'get' | 'list' | 'delete';

export interface BenchRequest {
  storage: Storage;
  sizes: number[];
  concurrencies: number[];
  /** Objects per (size, concurrency); default: 256 MiB worth, between 4 and 500. */
  objects?: number;
  ops?: BenchOp[];
  onRow?: (row: BenchRow) => void;
}

export interface BenchRow {
  op: BenchOp;
  size: number;
  concurrency: number;
  /** Requests made (LIST: pages; DELETE: batch calls) and objects they covered. */
  requests: number;
  objects: number;
  bytes: number;
  seconds: number;
  objectsPerSec: number;
  mbPerSec: number;
  /** Request latency percentiles, milliseconds. */
  p50: number;
  p90: number;
  p99: number;
}

const ALL_OPS: BenchOp[] = ['put', 'get', 'list', 'delete'];

/** Runs every (size, concurrency) in turn; returns the rows. The prefix is deleted even when a step fails. */
export async function benchStorage(req: BenchRequest): Promise<BenchRow[]> {
  const ops = new Set(req.ops ?? ALL_OPS);
  const rows: BenchRow[] = [];
  const emit = (row: BenchRow) => { rows.push(row); req.onRow?.(row); };
  for (const size of req.sizes) {
    const count = req.objects ?? Math.max(4, Math.min(500, Math.floor(256 * 2 ** 20 / size)));
    const body = randomBytes(size);
    const sha256 = createHash('sha256').update(body).digest('hex');
    for (const concurrency of req.concurrencies) {
      const prefix = `bench/${newId()}/`;
      const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(6, '0')}`);
      try {
        // Objects are always written (GET and LIST need them); the PUT row is reported when asked for.
        const put = await timed(keys, concurrency, async (key) => { await req.storage.put(key, body, { sha256 }); return size; });
        if (ops.has('put')) emit(row('put', size, concurrency, count, put));
        if (ops.has('get')) emit(row('get', size, concurrency, count, await timed(keys, concurrency, (key) => drain(req.storage, key))));
        if (ops.has('list')) emit(row('list', size, concurrency, count, await timedList(req.storage, prefix)));
        if (ops.has('delete')) {
          const batches = chunk(keys, Math.max(1, Math.ceil(count / concurrency)));
          emit(row('delete', size, concurrency, count, await timed(batches, concurrency, async (batch) => { await req.storage.delete(batch); return 0; })));
        }
      } finally {
        await req.storage.delete(keys).catch(() => undefined);
      }
    }
  }
  return rows;
}

/** `objects`: what the operation actually covered, when that is not simply the items (a listing's entries). */
interface Timing { latencies: number[]; bytes: number; seconds: number; objects?: number }

async function timed<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<number>): Promise<Timing> {
  const latencies: number[] = [];
  let bytes = 0;
  const started = performance.now();
  await forEachLimited(items, concurrency, async (item) => {
    const t0 = performance.now();
    const moved = await fn(item); // not `bytes += await ...`: that would add to a stale total
    bytes += moved;
    latencies.push(performance.now() - t0);
  });
  return { latencies, bytes, seconds: (performance.now() - started) / 1000 };
}

/** One full listing of the prefix (all its pages) as one timed request; `objects` is what it found. */
async function timedList(storage: Storage, prefix: string): Promise<Timing> {
  const started = performance.now();
  let objects = 0;
  for await (const entry of storage.list(prefix)) if (!entry.isPrefix) objects++;
  const seconds = (performance.now() - started) / 1000;
  return { latencies: [seconds * 1000], bytes: 0, seconds, objects };
}

async function drain(storage: Storage, key: string): Promise<number> {
  let n = 0;
  for await (const chunk of await storage.get(key)) n += (chunk as Buffer).length;
  return n;
}

function row(op: BenchOp, size: number, concurrency: number, objects: number, t: Timing): BenchRow {
  objects = t.objects ?? objects;
  const sorted = [...t.latencies].sort((a, b) => a - b);
  const pct = (p: number) => round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
  return {
    op, size, concurrency, requests: t.latencies.length, objects, bytes: t.bytes, seconds: round(t.seconds, 6),
    objectsPerSec: round(objects / t.seconds), mbPerSec: round(t.bytes / 1e6 / t.seconds), p50: pct(0.5), p90: pct(0.9), p99: pct(0.99),
  };
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
