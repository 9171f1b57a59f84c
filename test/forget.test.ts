/**
 * `bundle forget` by ref and `repo delete`, through the binary: the order of writes and what stays (WAL, read
 * log, packs), labels and --force, crash leftovers finished by a rerun, bad input refused with nothing changed.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { appendWal } from '../engine/meta/wal.js';
import { keys } from '../engine/vocab.js';
import { describeTree, listFiles, seededBytes, storeDigest, summaryOf, tempDir, who, writeFile } from './helpers.js';
import { type StoreCli, cliStore, storeOfTrees } from './lifecycle-helpers.js';

const t = suite('forget and repo delete');

/** Three bundles of three different trees: v1 (label v1), b2 (no label), b3 (label prod). */
function setup() {
  const labels = ['v1', undefined, 'prod'];
  return storeOfTrees('forget', 3, (src, i) => {
    writeFile(src, 'shared.bin', seededBytes(7, 200_000));
    writeFile(src, `own-${i}.bin`, seededBytes(100 + i, 50_000 + i));
    writeFile(src, 'dir/note.txt', `version ${i}`);
  }, (i) => (labels[i] ? ['--label', labels[i]!] : []));
}

function walRecords(run: StoreCli, type: string) {
  return run('--json', 'log', '--repo', 'r').stdout.split('\n').filter((l) => l.includes(`"${type}"`)).map((l) => JSON.parse(l).record);
}

function downloadsAs(run: StoreCli, ref: string, src: string): void {
  const dest = path.join(tempDir('forget-dest'), 'out');
  const r = run('bundle', 'download', dest, '--repo', 'r', '--bundle', ref);
  assert.is(r.code, 0, r.stderr);
  assert.equal(describeTree(dest), describeTree(src));
}

t('forget by id prefix removes descriptor and pages, keeps packs, records who and why; the rest downloads', () => {
  const { store, run, srcs, ids } = setup();
  const packs = listFiles(path.join(store, 'blobs'));
  const r = run('--json', 'bundle', 'forget', ids[1]!.slice(0, 10), '--repo', 'r');
  assert.is(r.code, 0, r.stderr);
  assert.equal(summaryOf(r.stdout).forgotten.map((f: { bundle: string; status: string }) => [f.bundle, f.status]), [[ids[1], 'forgotten']]);
  assert.not.ok(existsSync(path.join(store, 'meta/repos/r/bundles', ids[1]!, 'bundle.json')));
  assert.equal(listFiles(path.join(store, 'meta/repos/r/bundles', ids[1]!)), []);
  assert.equal(listFiles(path.join(store, 'blobs')), packs);
  const [forget] = walRecords(run, 'bundle.forget');
  assert.equal([forget.bundle, forget.reason, forget.contributor.email], [ids[1], 'ref', 'test@example.com']);
  assert.is(run('bundle', 'get', ids[1]!, '--repo', 'r').code, 1);
  downloadsAs(run, 'v1', srcs[0]!);
  downloadsAs(run, 'prod', srcs[2]!);
  const fsck = run('fsck');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  assert.not.match(fsck.stdout, /never became visible/);
});

t('a labelled bundle is refused without --force naming the label, and nothing changes, even for the other refs', () => {
  const { store, run, ids } = setup();
  const before = storeDigest(store);
  const r = run('bundle', 'forget', ids[1]!, 'prod', '--repo', 'r');
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /--force not given: .*label prod/);
  const latest = run('bundle', 'forget', 'latest', ids[0]!, '--repo', 'r');
  assert.is(latest.code, 2);
  assert.match(latest.stderr, /label prod.*label v1|label v1.*label prod/);
  const unknown = run('bundle', 'forget', ids[1]!, 'nosuchlabel', '--repo', 'r');
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /nosuchlabel/);
  assert.is(unknown.stderr.trim().split('\n').length, 1);
  assert.is(run('bundle', 'forget', ids[1]!, '--repo', 'nosuchrepo').code, 1);
  assert.equal(storeDigest(store), before);
});

t('--force deletes the labels through the label CAS (a tombstone, recorded), then the bundle', () => {
  const { store, run, srcs, ids } = setup();
  const r = run('--json', 'bundle', 'forget', 'prod', '--repo', 'r', '--force');
  assert.is(r.code, 0, r.stderr);
  assert.equal(summaryOf(r.stdout).forgotten[0].labels, ['prod']);
  assert.is(run('label', 'get', 'prod', '--repo', 'r').code, 1);
  const history = summaryOf(run('--json', 'label', 'history', 'prod', '--repo', 'r').stdout).moves;
  assert.is(history[0].type, 'label.delete');
  assert.is(history[0].previous, ids[2]);
  const log = run('--json', 'log', '--repo', 'r').stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l).record?.type);
  assert.ok(log.indexOf('bundle.forget') < log.lastIndexOf('label.delete'), 'the WAL record comes before the label is deleted');
  assert.is(run('fsck').code, 0);
  downloadsAs(run, 'v1', srcs[0]!);
  assert.ok(existsSync(path.join(store, 'meta/repos/r/labels/prod.json')));
});

t('a forget cut short after the descriptor is finished by a rerun; a forgotten id is "already forgotten", not an error', async () => {
  const { store, run, ids } = setup();
  const s = await openStore(store);
  // What a crash between deleting the descriptor and the pages leaves.
  await appendWal(s.storage, 'bundle.forget', 'r', who, { bundle: ids[1], reason: 'ref' });
  await s.storage.delete([keys.bundle('r', ids[1]!)]);
  assert.ok(listFiles(path.join(store, 'meta/repos/r/bundles', ids[1]!)).length > 0);
  const r = run('--json', 'bundle', 'forget', ids[1]!, '--repo', 'r');
  assert.is(r.code, 0, r.stderr);
  assert.is(summaryOf(r.stdout).forgotten[0].status, 'already forgotten');
  assert.equal(listFiles(path.join(store, 'meta/repos/r/bundles', ids[1]!)), []);
  const again = run('bundle', 'forget', ids[1]!, '--repo', 'r');
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, /already forgotten/);
  const never = run('bundle', 'forget', '01ARZ3NDEKTSV4RRFFQ69G5FAV', '--repo', 'r');
  assert.is(never.code, 1);
  assert.match(never.stderr, /not found/);
});

t('forgetting a bundle committed from a split upload removes its session too, so it cannot be committed again', () => {
  const { store, run } = cliStore('forget-session');
  const src = tempDir('forget-session-src');
  writeFile(src, 'a.txt', 'one');
  writeFile(src, 'b/c.txt', 'two');
  const id = run('session', 'start', '--repo', 'r').stdout.trim();
  assert.is(run('bundle', 'upload', src, '--repo', 'r', '--session', id, '--shard', '0/1').code, 0);
  assert.is(run('bundle', 'commit', '--repo', 'r', '--session', id).code, 0);
  const r = run('bundle', 'forget', id, '--repo', 'r');
  assert.is(r.code, 0, r.stderr);
  assert.equal(listFiles(path.join(store, 'meta')).filter((f) => !f.startsWith('repos/r/repo.json')), []);
  const again = run('bundle', 'commit', '--repo', 'r', '--session', id);
  assert.is(again.code, 1, again.stdout);
  assert.match(again.stderr, /not found/);
  assert.is(run('fsck').code, 0);
});

t('repo delete needs --yes; then the repo, its bundles, labels and sessions go, its WAL and read log stay', () => {
  const { store, run, srcs } = setup();
  assert.is(run('repo', 'create', 'other').code, 0);
  const other = summaryOf(run('--json', 'bundle', 'upload', srcs[0]!, '--repo', 'other').stdout).bundle as string;
  downloadsAs(run, 'v1', srcs[0]!); // leaves a read-log record
  const session = summaryOf(run('--json', 'session', 'start', '--repo', 'r').stdout);
  assert.ok(session.session ?? session.id, JSON.stringify(session));
  const before = storeDigest(store);
  const refused = run('repo', 'delete', 'r');
  assert.is(refused.code, 2);
  assert.match(refused.stderr, /--yes/);
  assert.is(refused.stderr.trim().split('\n').length, 1);
  assert.equal(storeDigest(store), before);
  const r = run('--json', 'repo', 'delete', 'r', '--yes');
  assert.is(r.code, 0, r.stderr);
  const s = summaryOf(r.stdout);
  assert.equal([s.bundles, s.labels, s.sessions, s.resumed], [3, 2, 1, false]);
  assert.not.ok(existsSync(path.join(store, 'meta/repos/r')) && listFiles(path.join(store, 'meta/repos/r')).length);
  assert.equal(listFiles(path.join(store, 'meta/sessions')), []);
  assert.ok(readdirSync(path.join(store, 'readlog/r')).length > 0);
  assert.equal(summaryOf(run('--json', 'repo', 'list').stdout).repos.map((x: { name: string }) => x.name), ['other']);
  assert.is(run('log', '--repo', 'r').code, 1, 'a deleted repo is not found; its history is in the store-wide log');
  const log = run('--json', 'log').stdout;
  assert.match(log, /"type":"repo.delete","repo":"r"/);
  assert.match(log, /"type":"bundle.commit","repo":"r"/);
  const fsck = run('fsck');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  const dest = path.join(tempDir('forget-other'), 'out');
  assert.is(run('bundle', 'download', dest, '--repo', 'other', '--bundle', other).code, 0);
  assert.equal(describeTree(dest), describeTree(srcs[0]!));
  assert.is(run('repo', 'delete', 'r', '--yes').code, 1);
  // The name can be taken again; the old history is not held against the new repo.
  assert.is(run('repo', 'create', 'r').code, 0);
  assert.is(run('bundle', 'upload', srcs[1]!, '--repo', 'r', '--label', 'prod').code, 0);
  assert.is(run('fsck').code, 0);
});

t('repo delete cut short after repo.json went is finished by a rerun', async () => {
  const { store, run } = setup();
  const s = await openStore(store);
  await appendWal(s.storage, 'repo.delete', 'r', who, {});
  await s.storage.delete([keys.repo('r')]);
  assert.equal(summaryOf(run('--json', 'repo', 'list').stdout).repos, []);
  const fsck = run('fsck');
  assert.is(fsck.code, 0, fsck.stdout + fsck.stderr);
  assert.match(fsck.stdout, /repo r\tdeleted, but \d+ object\(s\) of it remain/);
  const r = run('--json', 'repo', 'delete', 'r', '--yes');
  assert.is(r.code, 0, r.stderr);
  assert.equal([summaryOf(r.stdout).bundles, summaryOf(r.stdout).resumed], [3, true]);
  assert.equal(listFiles(path.join(store, 'meta')), []);
  assert.not.match(run('fsck').stdout, /remain/);
});

t.run();
