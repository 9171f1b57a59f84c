/**
 * Metadata that is damaged or inconsistent, through the binary: sizes against chunk lengths, pages against
 * their records, format.json fields, a cycle in a label's WAL chain, a damaged index object among good ones,
 * a damaged descriptor among good ones, fsck listing every problem, and a read-only store.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipLines } from '../engine/meta/objects.js';
import { uploadBundle } from '../engine/upload/upload.js';
import { LocalStorage } from '../engine/storage/local.js';
import type { BundleDescriptor, FileEntry } from '../engine/vocab.js';
import { asNobody, cliPath, describeTree, listFiles, tempDir, who, withRepo, writeFile } from './helpers.js';

const t = suite('metadata integrity: every damaged or inconsistent metadata object is refused, naming it');

const isRoot = process.getuid?.() === 0;
const canDropPrivileges = isRoot && spawnSync('setpriv', ['--version']).status === 0;

/** The binary under a timeout: a hang is a failure, not a stuck suite. */
function timed(args: string[], seconds = 60): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8', timeout: seconds * 1000, killSignal: 'SIGKILL',
    env: { ...process.env, DATAMOVER_AUTHOR: 'Test User <test@example.com>', DATAMOVER_HOME: tempDir('mi-home') },
  });
  return { code: r.status ?? (r.signal ? -1 : 1), stdout: r.stdout, stderr: r.stderr };
}

/** A store with bundles `a` (label a) and `b` (label b) of distinct files, uploaded one after the other. */
function twoBundles() {
  const store = path.join(tempDir('mi'), 'store');
  const run = (...args: string[]) => timed(['--store', store, ...args]);
  const srcA = tempDir('mi-a');
  const srcB = tempDir('mi-b');
  writeFile(srcA, 'a1.txt', 'alpha one\n');
  writeFile(srcA, 'm/a2.txt', 'alpha two\n');
  writeFile(srcA, 'z.txt', 'alpha zed\n');
  writeFile(srcB, 'b1.txt', 'beta one\n');
  assert.is(run('repo', 'create', 'r').code, 0);
  assert.is(run('bundle', 'upload', srcA, '--repo', 'r', '--label', 'a').code, 0);
  assert.is(run('bundle', 'upload', srcB, '--repo', 'r', '--label', 'b').code, 0);
  const file = (rel: string) => path.join(store, rel);
  const bundleKey = (label: string) => {
    const id = JSON.parse(readFileSync(file(`meta/repos/r/labels/${label}.json`), 'utf8')).bundle as string;
    return `meta/repos/r/bundles/${id}/bundle.json`;
  };
  return { store, run, srcA, srcB, file, bundleKey };
}

/** Rewrites page 0 of the bundle at `descKey` with `edit` applied to its entries, and the descriptor to match. */
function rewritePage(store: string, descKey: string, edit: (entries: FileEntry[]) => void): string {
  const descriptor = JSON.parse(readFileSync(path.join(store, descKey), 'utf8')) as BundleDescriptor;
  const page = descriptor.pages[0]!;
  const entries = gunzipSync(readFileSync(path.join(store, page.key))).toString().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FileEntry);
  edit(entries);
  const data = gzipLines(entries);
  writeFileSync(path.join(store, page.key), data);
  page.sha256 = createHash('sha256').update(data).digest('hex');
  page.count = entries.length;
  writeFileSync(path.join(store, descKey), JSON.stringify(descriptor));
  return page.key;
}

function editJson(file: string, edit: (o: Record<string, unknown>) => void): void {
  const o = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(o);
  writeFileSync(file, JSON.stringify(o));
}

t('a file whose chunks do not add up to its size: download, verify, fsck and fsck --read-data exit 4 naming page and path', () => {
  const s = twoBundles();
  const pageKey = rewritePage(s.store, s.bundleKey('a'), (entries) => {
    const e = entries.find((x) => x.path === 'm/a2.txt')!;
    e.size += 5;
  });
  const dest = path.join(tempDir('mi-size'), 'out');
  for (const args of [['bundle', 'download', dest, '--repo', 'r', '--label', 'a'], ['bundle', 'verify', '--repo', 'r', '--label', 'a'],
    ['bundle', 'files', '--repo', 'r', '--label', 'a'], ['fsck'], ['fsck', '--read-data']]) {
    const r = s.run(...args);
    assert.is(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(pageKey) && r.stderr.includes('m/a2.txt') && r.stderr.includes('add up to'), `${args[0]} ${args[1]}: ${r.stderr}`);
  }
  assert.not.ok(existsSync(path.join(dest, 'm', 'a2.txt')), 'no short file restored');
});

t('a zero-length chunk, a malformed hash, a negative mode: refused naming the page and the path', () => {
  const edits: [string, (e: FileEntry) => void][] = [
    ['has length 0', (e) => { e.chunks![0]![1] = 0; e.size = 0; }],
    ['malformed chunk', (e) => { e.chunks![0]![0] = 'xyz'; }],
    ['mode', (e) => { e.mode = -1; }],
  ];
  for (const [reason, edit] of edits) {
    const s = twoBundles();
    const pageKey = rewritePage(s.store, s.bundleKey('a'), (entries) => edit(entries.find((x) => x.path === 'a1.txt')!));
    const r = s.run('bundle', 'download', path.join(tempDir('mi-ent'), 'out'), '--repo', 'r', '--label', 'a');
    assert.is(r.code, 4, r.stderr);
    assert.ok(r.stderr.includes(pageKey) && r.stderr.includes('a1.txt') && r.stderr.includes(reason), r.stderr);
  }
});

t('a page record whose first/last is wrong: --include exits 4 naming the page instead of restoring nothing', () => {
  const s = twoBundles();
  const key = s.bundleKey('a');
  editJson(s.file(key), (d) => { (d.pages as { last: string }[])[0]!.last = 'b'; });
  const dest = path.join(tempDir('mi-range'), 'out');
  const r = s.run('bundle', 'download', dest, '--repo', 'r', '--label', 'a', '--include', 'm');
  assert.is(r.code, 4, r.stderr);
  assert.match(r.stderr, /manifest-0\.ndjson\.gz: last path "z\.txt"/);
});

t('a wrong range on one page of many: a subset download reads the page the selection may be in and refuses it', async () => {
  const store = new LocalStorage(tempDir('mi-pages'));
  await withRepo(store);
  const src = tempDir('mi-pages-src');
  for (let i = 0; i < 12; i++) writeFile(src, `d${String(i).padStart(2, '0')}/f.txt`, `file ${i}\n`);
  const up = await uploadBundle({ storage: store, repo: 'r', source: src, contributor: who, label: 'l', tuning: { pageSize: 4 } });
  assert.ok(up.bundle.pages.length >= 5, `${up.bundle.pages.length} pages`);
  const descPath = path.join(store.root, `meta/repos/r/bundles/${up.bundle.id}/bundle.json`);
  // Page 2 holds some dNN; its record claims a narrower range that leaves out its first directory.
  const page = up.bundle.pages[2]!;
  const hidden = page.first.split('/')[0]!;
  editJson(descPath, (d) => { (d.pages as { first: string }[])[2]!.first = `${hidden}/g`; });
  const dest = path.join(tempDir('mi-pages-dest'), 'out');
  const r = timed(['--store', store.root, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--include', hidden]);
  assert.is(r.code, 4, r.stderr);
  assert.ok(r.stderr.includes(page.key) && r.stderr.includes('first path'), r.stderr);
  const ok = timed(['--store', store.root, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l', '--include', 'd11']);
  assert.is(ok.code, 0, `an unrelated subset still downloads: ${ok.stderr}`);
});

t('format.json with a field missing or out of range: every command exits 4 naming format.json', () => {
  const edits: [string, (o: Record<string, unknown>) => void][] = [
    ['chunker', (o) => { o.chunker = { kind: 'fixed', size: 0 }; }],
    ['hash', (o) => { delete o.hash; }],
    ['chunker', (o) => { o.chunker = { kind: 'fastcdc', min: 1 << 20, avg: 1 << 10, max: 1 << 22, segment: 1 << 24 }; }],
  ];
  for (const [field, edit] of edits) {
    const s = twoBundles();
    editJson(s.file('format.json'), edit);
    for (const args of [['bundle', 'download', path.join(tempDir('mi-fmt'), 'o'), '--repo', 'r', '--label', 'a'], ['repo', 'list'], ['fsck']]) {
      const r = s.run(...args);
      assert.is(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.includes('format.json') && r.stderr.includes(field), r.stderr);
    }
  }
});

t('a WAL record whose previousWal points at itself: label history exits 4 naming the record, promptly', () => {
  const s = twoBundles();
  const label = JSON.parse(readFileSync(s.file('meta/repos/r/labels/a.json'), 'utf8')) as { wal: string };
  const walKey = `wal/r/${label.wal}.json`;
  editJson(s.file(walKey), (w) => { w.previousWal = label.wal; });
  const r = s.run('label', 'history', 'a', '--repo', 'r');
  assert.is(r.code, 4, r.stderr);
  assert.ok(r.stderr.includes(walKey) && r.stderr.includes('cycle'), r.stderr);
  const f = s.run('fsck');
  assert.is(f.code, 4);
  assert.ok(f.stdout.includes(walKey), f.stdout);
});

t('a flipped byte in one index object: bundles indexed elsewhere download and verify; the others fail naming it; upload refuses', () => {
  const s = twoBundles();
  const indexes = listFiles(s.file('blobs/index')).sort();
  assert.ok(indexes.length >= 2, `${indexes}`);
  const damaged = `blobs/index/${indexes.at(-1)!}`; // the second upload's
  const data = readFileSync(s.file(damaged));
  data[Math.floor(data.length / 2)] ^= 0x01;
  writeFileSync(s.file(damaged), data);
  const destA = path.join(tempDir('mi-idx'), 'a');
  const a = s.run('bundle', 'download', destA, '--repo', 'r', '--label', 'a');
  assert.is(a.code, 0, a.stderr);
  assert.equal(describeTree(destA), describeTree(s.srcA));
  assert.is(s.run('bundle', 'verify', '--repo', 'r', '--label', 'a').code, 0);
  for (const args of [['bundle', 'download', path.join(tempDir('mi-idx'), 'b'), '--repo', 'r', '--label', 'b'], ['bundle', 'verify', '--repo', 'r', '--label', 'b']]) {
    const r = s.run(...args);
    assert.is(r.code, 4, r.stderr);
    assert.ok(r.stderr.includes(damaged), `${args[1]} names the damaged index object: ${r.stderr}`);
  }
  const up = s.run('bundle', 'upload', s.srcA, '--repo', 'r');
  assert.is(up.code, 4, up.stderr);
  assert.ok(up.stderr.includes(damaged) && up.stderr.includes('fsck'), up.stderr);
  const f = s.run('fsck');
  assert.is(f.code, 4);
  assert.ok(f.stdout.includes(damaged) && f.stdout.includes('b1.txt'), f.stdout);
});

t('one damaged descriptor: bundle list shows the good bundles, exits 4 naming it; fsck lists every problem', () => {
  const s = twoBundles();
  const bad = s.bundleKey('a');
  writeFileSync(s.file(bad), '{"id": broken');
  const good = s.bundleKey('b').split('/').at(-2)!;
  const list = s.run('bundle', 'list', '--repo', 'r');
  assert.is(list.code, 4, list.stderr);
  assert.ok(list.stdout.includes(good), `the good bundle is listed: ${list.stdout}`);
  assert.ok(list.stderr.includes(bad), list.stderr);
  // More damage elsewhere: fsck reports all of it, not the first.
  writeFileSync(s.file('meta/repos/r/labels/b.json'), 'not json');
  const f = s.run('fsck');
  assert.is(f.code, 4);
  assert.ok(f.stdout.includes(bad) && f.stdout.includes('labels/b.json'), f.stdout);
  const d = s.run('bundle', 'download', path.join(tempDir('mi-desc'), 'o'), '--repo', 'r', '--bundle', good);
  assert.is(d.code, 0, d.stderr);
});

const roName = canDropPrivileges ? '' : ' [skipped: needs root with setpriv to act as an unprivileged user]';
(canDropPrivileges ? t : t.skip)(`a read-only store: download, verify and bundle files succeed with one warning that the read was not logged${roName}`, () => {
  const s = twoBundles();
  spawnSync('chmod', ['-R', 'a+rX,a-w', path.dirname(s.store)]);
  const parent = tempDir('mi-ro-dest');
  chmodSync(parent, 0o777);
  const dest = path.join(parent, 'out');
  try {
    const d = asNobody(['--store', s.store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'a']);
    assert.is(d.code, 0, d.stderr);
    assert.equal(describeTree(dest), describeTree(s.srcA));
    const others = [['bundle', 'verify', '--repo', 'r', '--label', 'a'], ['bundle', 'files', '--repo', 'r', '--label', 'a']].map((args) => {
      const r = asNobody(['--store', s.store, ...args]);
      assert.is(r.code, 0, `${args[1]}: ${r.stderr}`);
      return r;
    });
    for (const r of [d, ...others]) {
      const lines = r.stderr.trim().split('\n');
      assert.is(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /warning: .*could not be recorded in the read log/);
    }
    assert.not.ok(readdirSync(s.store).includes('readlog'), 'nothing was written');
  } finally {
    spawnSync('chmod', ['-R', 'u+w', path.dirname(s.store)]);
  }
});
if (!canDropPrivileges) console.log(`  skipped: read-only store test${roName}`);

t.run();
