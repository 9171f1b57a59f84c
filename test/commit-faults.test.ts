/**
 * A commit that fails part-way (ENOSPC, a refused write) never leaves a visible bundle without its
 * `bundle.commit` WAL record, never reports success falsely, names the object in its error, leaves no staged
 * temp file, and leaves a store fsck finds clean (information only). fsck checks the WAL against bundles and
 * labels.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fsck } from '../engine/check/fsck.js';
import { listBundles } from '../engine/meta/bundles.js';
import { listWal } from '../engine/meta/wal.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { MemoryStorage } from '../engine/storage/memory.js';
import { type Body, type PutOptions, StorageError } from '../engine/storage/storage.js';
import { cli, seededBytes, summaryOf, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('commit faults: ENOSPC and refused metadata writes; fsck checks the WAL');

const isRoot = process.getuid?.() === 0;
const canMount = isRoot && (() => {
  const probe = tempDir('commit-mount-probe');
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  return ok;
})();

function smallTree(): string {
  const src = tempDir('commit-src');
  for (let i = 0; i < 30; i++) writeFile(src, `d${i % 3}/f${i}.txt`, seededBytes(i, 1500 + i));
  return src;
}

/** Files staged in the store's `.tmp/` (lock files aside). */
function staged(store: string): string[] {
  const dir = path.join(store, '.tmp');
  return existsSync(dir) ? readdirSync(dir, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name) : [];
}

/** The bundles whose descriptor exists: the visible ones. */
function descriptors(store: string): string[] {
  const dir = path.join(store, 'meta/repos/r/bundles');
  return existsSync(dir) ? readdirSync(dir).filter((id) => existsSync(path.join(dir, id, 'bundle.json'))) : [];
}

function bytesFree(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** Mounts a 4 MiB tmpfs holding a store with repo `r` (and a filler file beside it); runs `fn`; unmounts. */
function withTmpfsStore<T>(fn: (disk: string, store: string) => T): T {
  const disk = tempDir('commit-disk');
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]).status, 0);
  try {
    const store = path.join(disk, 'store');
    assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
    return fn(disk, store);
  } finally {
    spawnSync('umount', [disk]);
  }
}

const upload = (store: string, src: string) => cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);

const mountSkip = canMount ? '' : ' (SKIPPED: needs root and tmpfs mounts)';
(canMount ? t : t.skip)(`ENOSPC at every step of an upload to a tmpfs store, the commit included: success, or a failure naming the object with no bundle visible, no temp file left, fsck clean${mountSkip}`, () => {
  const src = smallTree();
  // Calibrate: how many bytes a whole upload takes on this tmpfs.
  const needed = withTmpfsStore((disk, store) => {
    const before = bytesFree(disk);
    const r = upload(store, src);
    assert.is(r.code, 0, r.stderr);
    return before - bytesFree(disk);
  });
  const failedAt = new Set<string>();
  let succeeded = 0;
  // Room for nothing, then for the packs and a few metadata objects more each time (each takes a 4 KiB page).
  const rooms = [0, 4096];
  for (let room = needed - 32 * 1024; room <= needed + 4096; room += 4096) rooms.push(room);
  for (const room of rooms) {
    withTmpfsStore((disk, store) => {
      writeFileSync(path.join(disk, 'filler'), Buffer.alloc(Math.max(0, bytesFree(disk) - room)));
      const r = upload(store, src);
      const summary = summaryOf(r.stdout);
      rmSync(path.join(disk, 'filler')); // room for fsck's and the listing's own needs (they write nothing)
      const visible = descriptors(store).length;
      if (r.code === 0) {
        succeeded++;
        assert.is(visible, 1, 'a success left its bundle');
      } else {
        const message: string = summary.error.message;
        assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.is.not(summary.error.code, 'INTERNAL', message);
        const key = /(blobs|meta|wal)\/[^\s:]+/.exec(message)?.[0];
        assert.ok(key, `the error names the object: ${message}`);
        failedAt.add(key.replace(/[0-9a-f]{64}|[0-9A-Z]{26}/g, '*').replace(/\/[0-9a-f]{2}\//, '/*/'));
        assert.ok(visible === 0 || /is committed, but label l was not moved/.test(message), `no bundle visible after: ${message}`);
      }
      assert.equal(staged(store), [], `no staged file left (room ${room})`);
      const check = cli(['--store', store, 'fsck']);
      assert.is(check.code, 0, `room ${room}: ${check.stdout}${check.stderr}`);
    });
  }
  console.log(`  ${needed} bytes per upload; failed writing: ${[...failedAt].join(', ')}; ${succeeded} succeeded`);
  assert.ok(succeeded > 0, 'with room, the upload succeeds');
  assert.ok([...failedAt].some((k) => k.startsWith('wal/')), 'a run failed writing the WAL record');
  // The WAL record's chain head is rewritten just before the descriptor, needing the same page of room (and giving
  // the old head's back): ENOSPC strikes the head, never the descriptor, whose refusal the next test makes.
  assert.ok([...failedAt].some((k) => k === 'wal/r/chain-head.json'), 'a run failed writing the chain head, right before the descriptor');
});

/** Fails the `failAt`-th metadata write (every put outside blobs/packs/) with an error naming its key. */
class FailingStorage extends MemoryStorage {
  writes = 0;
  failAt = Number.POSITIVE_INFINITY;
  failedKey: string | undefined;
  override async put(key: string, body: Body, opts?: PutOptions) {
    if (!key.startsWith('blobs/packs/') && this.writes++ === this.failAt) {
      this.failedKey = key;
      throw new StorageError('permanent', `${key}: refused by the test`);
    }
    return super.put(key, body, opts);
  }
}

t('each metadata write of an upload refused in turn: success, or a failure naming the object and no bundle without its WAL record; fsck clean', async () => {
  const src = smallTree();
  let succeeded = false;
  for (let failAt = 0; !succeeded; failAt++) {
    assert.ok(failAt < 50, 'the upload ends within 50 metadata writes');
    const storage = await withRepo(new FailingStorage());
    storage.failAt = storage.writes + failAt;
    const done = await uploadBundle({ storage, repo: 'r', source: src, contributor: who, label: 'l', tuning: { pageSize: 10 } })
      .then(() => undefined, (err: Error) => err);
    const bundles = await listBundles(storage, 'r');
    const records = [];
    for await (const rec of listWal(storage, { repo: 'r' })) records.push(rec);
    if (!done) {
      succeeded = true;
      assert.is(bundles.length, 1);
    } else {
      assert.ok(storage.failedKey && done.message.includes(storage.failedKey), `${done.message} names ${storage.failedKey}`);
      if (bundles.length) assert.match(done.message, /is committed, but label l was not moved/);
    }
    for (const b of bundles) assert.ok(records.some((r) => r.type === 'bundle.commit' && r.bundle === b.id), `bundle ${b.id} has its WAL record (write ${failAt} refused)`);
    const check = await fsck(storage);
    assert.equal(check.problems, [], `write ${failAt} (${storage.failedKey}) refused`);
  }
});

t('fsck checks the WAL: a bundle without its bundle.commit record and a label whose record is gone are problems; a record whose bundle never landed is a note', () => {
  const store = tempDir('wal-check');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, '--json', 'bundle', 'upload', smallTree(), '--repo', 'r', '--label', 'l']);
  assert.is(up.code, 0, up.stderr);
  const bundle: string = summaryOf(up.stdout).bundle;
  assert.is(cli(['--store', store, 'fsck']).code, 0);
  const walDir = path.join(store, 'wal/r');
  const records = readdirSync(walDir).map((name) => ({ name, text: readFileSync(path.join(walDir, name), 'utf8') }));
  // A commit attempt whose descriptor never landed: information only.
  const commit = records.find((r) => r.text.includes('"bundle.commit"'))!;
  const ghost = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
  writeFileSync(path.join(walDir, `${ghost}.json`), commit.text.replace(bundle, '01BX5ZZKBKACTAV9WEVGEMMVRZ').replace(/"id":"[0-9A-Z]{26}"/, `"id":"${ghost}"`));
  const noted = cli(['--store', store, 'fsck']);
  assert.is(noted.code, 0, noted.stdout + noted.stderr);
  assert.match(noted.stdout, /note\tWAL record wal\/r\/01ARZ3NDEKTSV4RRFFQ69G5FAV\.json\tbundle\.commit of 01BX5ZZKBKACTAV9WEVGEMMVRZ, which never became visible/);
  // The committed bundle's record and the label's record removed: both named.
  rmSync(path.join(walDir, commit.name));
  rmSync(path.join(walDir, records.find((r) => r.text.includes('"label.set"'))!.name));
  const broken = cli(['--store', store, 'fsck']);
  assert.is(broken.code, 4, broken.stdout + broken.stderr);
  assert.ok(broken.stdout.includes(`r/${bundle}\ta committed bundle without its bundle.commit WAL record`), broken.stdout);
  assert.match(broken.stdout, /r label l\tits WAL record [0-9A-Z]{26} is missing/);
});

t.run();
