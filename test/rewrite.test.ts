/**
 * `bundle rewrite --exclude`: new bundles without the matched entries, labels moved, originals forgotten, the
 * store fsck-clean and every kept bundle downloading byte for byte; a pattern that matches nothing changes
 * nothing.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { rewriteBundles } from '../engine/lifecycle/rewrite.js';
import type { Storage } from '../engine/storage/storage.js';
import { describeTree, listFiles, seededBytes, storeDigest, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { cliStore, storeOfTrees, uploadTo } from './lifecycle-helpers.js';

const t = suite('bundle rewrite');

/** b0 and b1 hold secret.txt (b1's parent is b0), b2 does not. Labels: v1 -> b1, prod -> b0. */
function setup() {
  const fixture = storeOfTrees('rewrite', 3, (src, i) => {
    writeFile(src, 'data.bin', seededBytes(20 + i, 120_000));
    writeFile(src, 'docs/readme.txt', `release ${i}`);
    if (i < 2) writeFile(src, 'secret.txt', `SECRET-MARKER-15 token ${i}`);
  }, (i) => ['--message', `upload ${i}`, ...(i < 2 ? ['--label', 'v1'] : [])]);
  assert.is(fixture.run('label', 'set', 'prod', '--repo', 'r', '--bundle', fixture.ids[0]!).code, 0);
  return fixture;
}

/** Every manifest page of the store (live or not), gunzipped. */
function manifestTexts(store: string): string[] {
  return listFiles(path.join(store, 'meta')).filter((f) => f.endsWith('.ndjson.gz'))
    .map((f) => gunzipSync(readFileSync(path.join(store, 'meta', f))).toString('utf8'));
}

function treeWithout(src: string, rel: string) {
  const tree = describeTree(src);
  tree.delete(rel);
  return tree;
}

t('rewrite --all --exclude secret.txt: no manifest page names it; labels, parents, message and time carried over', () => {
  const { store, run, srcs, ids } = setup();
  const before = summaryOf(run('--json', 'bundle', 'list', '--repo', 'r').stdout).bundles;
  const r = run('--json', 'bundle', 'rewrite', '--repo', 'r', '--all', '--exclude', 'secret.txt');
  assert.is(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.equal(s.rewritten.map((w: { from: string; removed: number }) => [w.from, w.removed]), [[ids[0], 1], [ids[1], 1]]);
  assert.equal(s.unchanged, [ids[2]]);
  const renamed = new Map<string, string>(s.rewritten.map((w: { from: string; bundle: string }) => [w.from, w.bundle]));
  assert.ok(manifestTexts(store).every((text) => !text.includes('secret.txt')));
  assert.ok(manifestTexts(store).some((text) => text.includes('readme.txt')));
  const after = summaryOf(run('--json', 'bundle', 'list', '--repo', 'r').stdout).bundles;
  assert.equal(after.map((b: { id: string }) => b.id).sort(), [ids[2], renamed.get(ids[0]!), renamed.get(ids[1]!)].sort());
  const b1 = summaryOf(run('--json', 'bundle', 'get', renamed.get(ids[1]!)!, '--repo', 'r').stdout).bundle;
  assert.equal(b1.parents, [renamed.get(ids[0]!)]);
  assert.is(b1.message, 'upload 1');
  assert.equal(b1.rewrittenFrom, { bundle: ids[1], created: before[1].created });
  assert.is(b1.files, 2);
  assert.equal(summaryOf(run('--json', 'label', 'get', 'v1', '--repo', 'r').stdout).label.bundle, renamed.get(ids[1]!));
  assert.equal(summaryOf(run('--json', 'label', 'get', 'prod', '--repo', 'r').stdout).label.bundle, renamed.get(ids[0]!));
  for (const [ref, src] of [['prod', srcs[0]!], ['v1', srcs[1]!], [ids[2]!, srcs[2]!]] as const) {
    const dest = path.join(tempDir('rewrite-dest'), 'out');
    const d = run('bundle', 'download', dest, '--repo', 'r', '--bundle', ref);
    assert.is(d.code, 0, d.stderr);
    assert.equal(describeTree(dest), treeWithout(src, 'secret.txt'));
  }
  const log = run('--json', 'log', '--repo', 'r').stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).record).filter(Boolean);
  assert.is(log.filter((x) => x.type === 'bundle.rewrite').length, 2);
  assert.equal(log.filter((x) => x.type === 'bundle.forget').map((x) => [x.bundle, x.reason]), [[ids[0], 'rewrite'], [ids[1], 'rewrite']]);
  const fsck = run('fsck');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  assert.not.match(fsck.stdout, /never became visible/);
  // Retention goes by the time the data was taken, kept through the rewrite.
  const kept = summaryOf(run('--json', 'bundle', 'forget', '--repo', 'r', '--keep-last', '3', '--dry-run').stdout).kept;
  assert.is(kept.find((k: { bundle: string }) => k.bundle === renamed.get(ids[0]!)).created, before[0].created);
});

t('rewrite of one bundle by label; a pattern matching nothing, or bad arguments, change nothing', () => {
  const { store, run, ids } = setup();
  const unchanged = storeDigest(store);
  const none = run('bundle', 'rewrite', 'v1', '--repo', 'r', '--exclude', 'secret.txt', '--exclude', 'no-such-*.key');
  assert.is(none.code, 2, none.stderr);
  assert.match(none.stderr, /--exclude "no-such-\*\.key": matches no entry/);
  assert.is(none.stderr.trim().split('\n').length, 1);
  assert.is(run('bundle', 'rewrite', ids[2]!, '--repo', 'r', '--exclude', 'secret.txt').code, 2);
  assert.is(run('bundle', 'rewrite', 'v1', '--repo', 'r').code, 2);
  assert.is(run('bundle', 'rewrite', 'v1', '--all', '--repo', 'r', '--exclude', 'secret.txt').code, 2);
  assert.is(run('bundle', 'rewrite', 'nolabel', '--repo', 'r', '--exclude', 'secret.txt').code, 1);
  const dry = run('bundle', 'rewrite', 'v1', '--repo', 'r', '--exclude', 'docs', '--dry-run');
  assert.is(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`would rewrite\\t${ids[1]}\\t2 entries removed`));
  assert.equal(storeDigest(store), unchanged);
  const r = run('--json', 'bundle', 'rewrite', 'v1', '--repo', 'r', '--exclude', 'docs');
  assert.is(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.equal(s.labelsMoved, [{ label: 'v1', from: ids[1], to: s.rewritten[0].bundle }]);
  const files = run('bundle', 'files', '--repo', 'r', '--label', 'v1');
  assert.not.match(files.stdout, /docs/);
  assert.match(files.stdout, /secret\.txt/);
  assert.is(run('fsck').code, 0);
});

/** `storage`, except that writing a `bundle.forget` WAL record fails, the way a crash there would stop the run. */
function failingForget(storage: Storage): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver);
      return async (key: string, body: Uint8Array, opts?: object) => {
        if (key.startsWith('wal/') && Buffer.from(body).includes('"bundle.forget"')) throw new Error('crash before forgetting');
        return target.put(key, body, opts);
      };
    },
  });
}

t('a rewrite stopped after committing, before forgetting, is finished by a rerun that adopts the rewrite', async () => {
  const { store, run, ids } = setup();
  const s = await openStore(store);
  const req = { repo: 'r', contributor: who, refs: ['prod'], exclude: ['secret.txt'] };
  await rewriteBundles({ ...req, storage: failingForget(s.storage) }).then(() => assert.unreachable(), (err: Error) => assert.match(err.message, /crash/));
  const half = summaryOf(run('--json', 'bundle', 'list', '--repo', 'r').stdout).bundles.map((b: { id: string }) => b.id);
  assert.is(half.length, 4, 'the rewrite is committed beside its original');
  const again = await rewriteBundles({ ...req, refs: [ids[0]!], storage: s.storage });
  assert.ok(half.includes(again.rewritten[0]!.bundle), 'the committed rewrite is adopted, not written again');
  assert.equal(again.forgotten.map((f) => [f.bundle, f.status]), [[ids[0], 'forgotten']]);
  assert.equal(summaryOf(run('--json', 'label', 'get', 'prod', '--repo', 'r').stdout).label.bundle, again.rewritten[0]!.bundle);
  assert.is(summaryOf(run('--json', 'bundle', 'list', '--repo', 'r').stdout).bundles.length, 3);
  assert.is(run('fsck').code, 0);
});

t('rewriting an old bundle does not make it latest: latest is the bundle with the newest data', () => {
  const { run } = cliStore('rw-latest');
  const ids = [1, 2].map((i) => {
    const src = tempDir(`rw-latest${i}`);
    writeFile(src, 'keep.txt', `version ${i}\n`);
    writeFile(src, 'secret.txt', `secret ${i}\n`);
    return uploadTo(run, src);
  });
  assert.is(run('bundle', 'rewrite', ids[0]!, '--repo', 'r', '--exclude', 'secret.txt').code, 0);
  const got = run('--json', 'bundle', 'get', 'latest', '--repo', 'r');
  assert.is(got.code, 0, got.stderr);
  assert.ok(got.stdout.includes(ids[1]!), `latest is still the newest upload ${ids[1]}: ${got.stdout.slice(0, 300)}`);
});

t.run();
