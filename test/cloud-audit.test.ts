/**
 * The hash-chained WAL on S3 (Ceph RGW) and GCS (emulator through its fidelity proxy): two writers moving labels
 * concurrently (their chain-head updates race through each backend's compare-and-swap) leave a chain that
 * verifies clean; deleting the newest record is then detected, naming it (docs/audit.md).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { cloudEnv, freshGcsUrl, freshS3Url, s3Endpoint } from './cloud-stores.js';
import { seededBytes, tempDir, who, writeFile } from './helpers.js';

const t = suite('cloud: the hash-chained WAL on RGW and the GCS emulator');

t.before(() => { Object.assign(process.env, cloudEnv()); });

for (const kind of ['s3', 'gcs'] as const) {
  t(`${kind}: 2 × 20 concurrent label moves verify clean; deleting the newest record is detected, naming it`, async () => {
    const url = kind === 's3' ? await freshS3Url('chain') : freshGcsUrl('chain');
    const open = () => openStore({ url, ...(kind === 's3' ? { endpoint: s3Endpoint() } : {}) });
    const store = await openStore({ url, create: true, ...(kind === 's3' ? { endpoint: s3Endpoint() } : {}) });
    await store.createRepo('r', { contributor: who });
    const src = tempDir('cchain-src');
    writeFile(src, 'f', seededBytes(3, 1000));
    const bundle = (await store.repo('r').upload({ source: src, contributor: who })).bundle.id;
    await Promise.all([0, 1].map(async () => {
      const repo = (await open()).repo('r');
      await Promise.all(Array.from({ length: 20 }, (_, i) => repo.setLabel(`m${i % 5}`, bundle, who)));
    }));
    const [clean] = await (await open()).verifyLog('wal', { repo: 'r' });
    assert.equal([clean!.records >= 42, clean!.chained, clean!.problems, clean!.notes], [true, clean!.records, [], []]);
    const newest = clean!.tips.map((tip) => tip.id).sort().at(-1)!;
    await store.storage.delete([`wal/r/${newest}.json`]);
    const [broken] = await (await open()).verifyLog('wal', { repo: 'r' });
    assert.equal(broken!.problems[0], { key: `wal/r/${newest}.json`, detail: 'missing, yet the chain head wal/r/chain-head.json links to it (deleted, or renamed)' });
  });
}

t.run();
