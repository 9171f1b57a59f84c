import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { asNobody, cli, runsIf, describeTree, listFiles, makeMixedTree, summaryOf, tempDir, writeFile } from './helpers.js';

function storeWithRepo(): string {
  const store = tempDir('cli-store');
  const r = cli(['--store', store, 'repo', 'create', 'r', '--description', 'test']);
  assert.is(r.code, 0, r.stderr);
  return store;
}

/** The command fails with `code`, one line on stderr containing `names`, and the store is unchanged. */
function assertCleanFailure(store: string, args: string[], code: number, names: string, env: Record<string, string> = {}) {
  const before = listFiles(store);
  const r = cli(['--store', store, ...args], env);
  assert.is(r.code, code, `exit code of ${args.join(' ')}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, `one line: ${r.stderr}`);
  assert.ok(lines[0].includes(names), `${lines[0]} names ${names}`);
  assert.equal(listFiles(store), before, 'nothing written');
}

const t = suite('cli: end to end through the built binary');

t('upload, list, files, download round trip with --json summary', () => {
  const store = storeWithRepo();
  const src = tempDir('cli-src');
  makeMixedTree(src, 200);
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest', '--message', 'first']);
  assert.is(up.code, 0, up.stderr);
  const summary = summaryOf(up.stdout);
  assert.is(summary.type, 'summary');
  assert.match(summary.bundle, /^[0-9A-Z]{26}$/);
  assert.is(cli(['--store', store, 'label', 'get', 'latest', '--repo', 'r']).stdout.split('\t')[1], summary.bundle);
  assert.ok(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout.includes(summary.bundle));
  assert.ok(cli(['--store', store, 'bundle', 'files', '--repo', 'r', '--label', 'latest']).stdout.includes('unicode/日本語/ファイル.txt'));
  const dest = path.join(tempDir('cli-dest'), 'out');
  const down = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--bundle', summary.bundle]);
  assert.is(down.code, 0, down.stderr);
  assert.equal(describeTree(dest), describeTree(src));
  const days = readdirSync(path.join(store, 'readlog', 'r')).filter((f) => f !== 'chain-head.json');
  assert.is(days.length, 1, 'the download is in the read log');
  assert.ok(readdirSync(path.join(store, 'readlog', 'r', days[0]!)).length > 0, 'the download is in the read log');
});

t('bad input: missing directory', () => {
  const store = storeWithRepo();
  assertCleanFailure(store, ['bundle', 'upload', '/no/such/dir', '--repo', 'r'], 1, '/no/such/dir');
});

t('bad input: unknown repo, unknown label, malformed bundle ids', () => {
  const store = storeWithRepo();
  const src = tempDir('cli-small');
  writeFile(src, 'a.txt', 'a');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'nope'], 1, 'repo nope');
  assertCleanFailure(store, ['bundle', 'download', tempDir('d'), '--repo', 'r', '--label', 'missing'], 1, 'label missing');
  // Spelled like a label, these are refs (test/refs.test.ts) naming nothing: NOT_FOUND. Refs that cannot be
  // spelled at all are malformed: USAGE.
  assertCleanFailure(store, ['bundle', 'get', 'not-a-ulid', '--repo', 'r'], 1, 'not-a-ulid');
  assertCleanFailure(store, ['bundle', 'download', tempDir('d'), '--repo', 'r', '--bundle', '123'], 1, '"123"');
  assertCleanFailure(store, ['label', 'set', 'x', '--repo', 'r', '--bundle', 'zz'], 1, '"zz"');
  assertCleanFailure(store, ['bundle', 'get', 'not a ulid', '--repo', 'r'], 2, 'not a ulid');
  assertCleanFailure(store, ['bundle', 'download', tempDir('d'), '--repo', 'r', '--bundle', '1/2'], 2, '"1/2"');
  assertCleanFailure(store, ['label', 'set', 'x', '--repo', 'r', '--bundle', '.zz'], 2, '".zz"');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'bad/name'], 2, 'bad/name');
  assertCleanFailure(store, ['--workers', 'zero', 'bundle', 'upload', src, '--repo', 'r'], 2, '--workers');
});

t('bad input: a store of an unknown format version', () => {
  const store = tempDir('cli-future');
  writeFileSync(path.join(store, 'format.json'), JSON.stringify({ format: 'datamover', version: 99, hash: 'sha256' }));
  const src = tempDir('cli-small2');
  writeFile(src, 'a.txt', 'a');
  assertCleanFailure(store, ['repo', 'create', 'r'], 1, 'format.json');
  assertCleanFailure(store, ['bundle', 'upload', src, '--repo', 'r'], 1, 'version 99');
});

const isRoot = process.getuid?.() === 0;
const hasSetpriv = spawnSync('setpriv', ['--version']).status === 0;
const withUnprivilegedUser = runsIf(t, isRoot && !hasSetpriv ? 'running as root without setpriv to drop privileges' : undefined);
withUnprivilegedUser('bad input: unreadable file', () => {
  const store = storeWithRepo();
  const src = tempDir('cli-unreadable');
  writeFile(src, 'a-secret.bin', 'no peeking');
  writeFile(src, 'b-fine.txt', 'fine');
  chmodSync(path.join(src, 'a-secret.bin'), 0o000);
  for (const dir of [store, src]) spawnSync('chmod', ['-R', 'a+rwX', dir]);
  chmodSync(path.join(src, 'a-secret.bin'), 0o000);
  const args = ['--store', store, 'bundle', 'upload', src, '--repo', 'r'];
  const before = listFiles(store);
  const r = isRoot ? asNobody(args) : cli(args);
  assert.is(r.code, 1, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(r.stderr.includes('a-secret.bin'), r.stderr);
  assert.equal(listFiles(store), before, 'nothing written');
  rmSync(src, { recursive: true, force: true });
});

withUnprivilegedUser('upload --skip-on-error leaves out an unreadable file, records and reports it, exit 3', () => {
  const store = storeWithRepo();
  const src = tempDir('cli-skip');
  writeFile(src, 'a-secret.bin', 'no peeking');
  writeFile(src, 'b-fine.txt', 'fine');
  writeFile(src, 'c/d.txt', 'also fine');
  for (const dir of [store, src]) spawnSync('chmod', ['-R', 'a+rwX', dir]);
  chmodSync(path.join(src, 'a-secret.bin'), 0o000);
  const args = ['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l', '--skip-on-error'];
  const r = isRoot ? asNobody(args) : cli(args);
  assert.is(r.code, 3, r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /warning: 1 file\(s\) left out of bundle [0-9A-Z]{26}: a-secret\.bin \(EACCES/);
  const summary = summaryOf(r.stdout);
  assert.equal(summary.skipped.map((f: { path: string }) => f.path), ['a-secret.bin']);
  assert.is(summary.skippedFiles, 1);
  assert.ok(r.stdout.includes('"type":"scan.skip"'), 'the skip is an event too');
  const dest = path.join(tempDir('cli-skip-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  assert.equal(listFiles(dest), ['b-fine.txt', 'c/d.txt']);
  rmSync(src, { recursive: true, force: true });
});

t('usage errors from the parser exit 2', () => {
  const r = cli(['bundle', 'upload', '--repo', 'r']);
  assert.is(r.code, 2);
  assert.ok(r.stderr.includes("missing required argument 'dir'"));
  assert.is(cli(['bundle', 'download', 'x', '--repo', 'r', '--bundle', '01M8610T0SACJC4BE2VE7YAZEM', '--label', 'l']).code, 2);
  assert.ok(!existsSync('x'));
});

t.run();
