/** `datamover bench` against the local store, Ceph RGW and the GCS emulator: rows are complete and their numbers add up. */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { BenchRow } from '../engine/bench/storage-bench.js';
import { openStorage } from '../engine/storage/open.js';
import { cloudEnv, freshGcsUrl, freshS3Url, gcsProxy, s3Endpoint } from './cloud-stores.js';
import { cli, tempDir } from './helpers.js';

const t = suite('bench: storage throughput on local, s3 and gs');

async function benchSane(store: string) {
  const r = cli(['--store', store, '--json', 'bench', '--sizes', '4KiB,1MiB', '--concurrencies', '1,4', '--objects', '12'], cloudEnv());
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const rows = lines.filter((l) => l.type === 'bench.row') as BenchRow[];
  assert.is(rows.length, 2 * 2 * 4, 'one row per op, size and concurrency');
  for (const row of rows) {
    const what = `${row.op} ${row.size} x${row.concurrency}`;
    assert.is(row.objects, 12, `${what}: objects`);
    const expectedBytes = row.op === 'put' || row.op === 'get' ? 12 * row.size : 0;
    assert.is(row.bytes, expectedBytes, `${what}: bytes moved = bytes reported`);
    assert.ok(row.seconds > 0 && Number.isFinite(row.objectsPerSec) && row.objectsPerSec > 0, what);
    if (expectedBytes) assert.ok(Math.abs(row.mbPerSec - row.bytes / 1e6 / row.seconds) <= 0.01 + row.mbPerSec * 0.01, `${what}: MB/s`);
    assert.ok(row.p50 <= row.p90 && row.p90 <= row.p99 && row.p50 > 0, `${what}: percentiles ordered`);
    assert.is(row.requests, row.op === 'list' ? 1 : row.op === 'delete' ? Math.min(row.concurrency, 12) : 12, `${what}: requests`);
  }
  assert.is(lines.at(-1).type, 'summary');
  const leftovers: string[] = [];
  const opened = openStorage(store, { endpoint: s3Endpoint() });
  for await (const e of opened.list('bench/')) if (!e.isPrefix) leftovers.push(e.key);
  assert.equal(leftovers, [], 'bench removes its objects');
}

t('local store', async () => { await benchSane(tempDir('bench-local')); });
t('s3:// on Ceph RGW', async () => { await benchSane(await freshS3Url('bench')); });
t('gs:// on the GCS emulator', async () => {
  process.env.STORAGE_EMULATOR_HOST = gcsProxy();
  await benchSane(freshGcsUrl('bench'));
});

t('bad flags are usage errors naming the flag', () => {
  const store = tempDir('bench-bad');
  for (const [args, flag] of [[['--sizes', 'huge'], '--sizes'], [['--concurrencies', '0'], '--concurrencies'], [['--ops', 'put,zap'], '--ops'], [['--objects', '-1'], '--objects']] as const) {
    const r = cli(['--store', store, 'bench', ...args]);
    assert.is(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(flag), r.stderr);
  }
});

t.run();
