import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync } from 'node:zlib';
import { uploadBundle } from '../engine/upload/upload.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type Body, type MultipartUpload, type PutOptions, readAll } from '../engine/storage/storage.js';
import type { FileEntry, IndexEntry } from '../engine/vocab.js';
import { seededBytes, tempDir, writeFile, who, withRepo } from './helpers.js';

/** A storage that records, in order, every object that became visible. */
class RecordingStorage extends MemoryStorage {
  readonly log: string[] = [];
  override async put(key: string, body: Body, opts?: PutOptions) {
    const r = await super.put(key, body, opts);
    if (r.status === 'written') this.log.push(key);
    return r;
  }
  override async openMultipart(key: string): Promise<MultipartUpload> {
    const up = await super.openMultipart(key);
    return { ...up, complete: async () => { const info = await up.complete(); this.log.push(key); return info; } };
  }
}

const t = suite('commit protocol: write order through a recording storage');

t('packs durable → their index → manifest pages → WAL record → descriptor → label', async () => {
  const src = tempDir('order');
  for (let i = 0; i < 450; i++) writeFile(src, `d${i % 7}/f${i}.txt`, seededBytes(i, 3000 + i));
  writeFile(src, 'large.bin', seededBytes(99, 3 * 1024 * 1024 + 5));
  const s = new RecordingStorage();
  await withRepo(s);
  s.log.length = 0;
  const up = await uploadBundle({
    storage: s, repo: 'r', source: src, contributor: who, label: 'latest',
    tuning: { packSize: 256 * 1024, partSize: 64 * 1024, pageSize: 100, checkpointPacks: 3 },
  });
  const pos = (pred: (k: string) => boolean) => s.log.findIndex(pred);
  const packs = s.log.filter((k) => k.startsWith('blobs/packs/'));
  const indexes = s.log.filter((k) => k.startsWith('blobs/index/'));
  const pages = s.log.filter((k) => k.includes('/manifest-'));
  assert.ok(packs.length > 5, `packs: ${packs.length}`);
  assert.ok(indexes.length > 1, `indexes: ${indexes.length}`);
  assert.ok(pages.length >= 5, `pages: ${pages.length}`);

  const indexedAt = new Map<string, number>();
  for (const key of indexes) {
    const at = s.log.indexOf(key);
    const entries = gunzipSync(await readAll(s, key)).toString().trim().split('\n').map((l) => JSON.parse(l) as IndexEntry);
    for (const e of entries) {
      assert.ok(s.log.indexOf(`blobs/packs/${e.pack.slice(0, 2)}/${e.pack}`) < at, `pack ${e.pack} durable before index ${key}`);
      indexedAt.set(e.blob, at);
    }
  }
  for (const key of pages) {
    const at = s.log.indexOf(key);
    const entries = gunzipSync(await readAll(s, key)).toString().trim().split('\n').map((l) => JSON.parse(l) as FileEntry);
    for (const e of entries) for (const [hash] of e.chunks ?? []) {
      assert.ok((indexedAt.get(hash) ?? Infinity) < at, `${e.path}: chunk indexed before page ${key}`);
    }
  }
  const descriptor = pos((k) => k.endsWith(`${up.bundle.id}/bundle.json`));
  const wal = pos((k) => k.startsWith('wal/r/'));
  const label = pos((k) => k === 'meta/repos/r/labels/latest.json');
  assert.ok(Math.max(...pages.map((k) => s.log.indexOf(k))) < wal, 'pages before the WAL record');
  assert.ok(wal < descriptor, 'bundle.commit WAL record before the descriptor: a visible bundle always has its record');
  const records = s.log.filter((k) => /^wal\/r\/[0-9A-Z]{26}\.json$/.test(k));
  assert.ok(records.length === 2, 'bundle.commit and label.set records');
  const heads = s.log.map((k, i) => (k === 'wal/r/chain-head.json' ? i : -1)).filter((i) => i >= 0);
  assert.equal(heads.map((h) => records.filter((k) => s.log.indexOf(k) < h).length), [1, 2], 'each record, then the chain head naming it (docs/audit.md)');
  assert.ok(descriptor < label, 'descriptor before label');
  assert.ok(s.log.filter((k) => k.startsWith('wal/')).every((k) => s.log.indexOf(k) < label), 'WAL before label');
  assert.is(s.log[s.log.length - 1], 'meta/repos/r/labels/latest.json');
});

t.run();
