/** Contexts through the built binary: a default with no setup, named contexts that keep their data apart, roles. */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, describeTree, listFiles, tempDir, writeFile } from './helpers.js';

const t = suite('cli: contexts');

function home() {
  const dir = tempDir('ctx-home');
  const env = { DATAMOVER_HOME: dir };
  return { dir, run: (args: string[], extra: Record<string, string> = {}) => cli(args, { ...env, ...extra }) };
}

t('a default context on the embedded store exists without setup', () => {
  const { dir, run } = home();
  assert.match(run(['context', 'list']).stdout, /^\* default\t.*store$/m);
  assert.is(run(['repo', 'create', 'r']).code, 0);
  assert.ok(existsSync(path.join(dir, 'store', 'format.json')));
});

t('the same commands against two contexts keep their data apart; roles route the WAL and packs to their own stores', () => {
  const { dir, run } = home();
  const [a, b, bBlobs, bWal] = ['a', 'b', 'b-blobs', 'b-wal'].map((n) => path.join(dir, n));
  assert.is(run(['context', 'create', 'ca', '--store', a!, '--author', 'Ann <ann@example.com>']).code, 0);
  assert.is(run(['context', 'create', 'cb', '--store', b!, '--blobs-store', bBlobs!, '--wal-store', bWal!]).code, 0);
  assert.is(run(['context', 'use', 'ca']).code, 0);
  const src = tempDir('ctx-src');
  writeFile(src, 'x.txt', 'in a');
  const env = { DATAMOVER_AUTHOR: '' };
  for (const args of [['repo', 'create', 'r'], ['bundle', 'upload', src, '--repo', 'r', '--label', 'latest']]) {
    assert.is(run(args, env).code, 0);
    assert.is(run(['--context', 'cb', ...args], env).code, 0);
  }
  assert.is(run(['bundle', 'list', '--repo', 'r']).stdout.trim().split('\n').length, 1);
  assert.ok(run(['log', '--repo', 'r'], env).stdout.includes('Ann <ann@example.com>'), 'the context author is the contributor');
  assert.ok(listFiles(a!).some((f) => f.startsWith('blobs/packs/')) && listFiles(a!).some((f) => f.startsWith('wal/r/')));
  assert.ok(!listFiles(b!).some((f) => f.startsWith('blobs/') || f.startsWith('wal/')), 'cb keeps packs and WAL out of its meta store');
  assert.ok(listFiles(bBlobs!).every((f) => f.startsWith('blobs/')) && listFiles(bBlobs!).length > 0);
  assert.ok(listFiles(bWal!).every((f) => f.startsWith('wal/r/')) && listFiles(bWal!).filter((f) => f !== 'wal/r/chain-head.json').length === 3);
  assert.ok(listFiles(bWal!).includes('wal/r/chain-head.json'), 'the WAL\'s chain head lives with the WAL');
  const dest = path.join(tempDir('ctx-dest'), 'out');
  assert.is(run(['bundle', 'download', dest, '--repo', 'r', '--label', 'latest'], { DATAMOVER_CONTEXT: 'cb' }).code, 0);
  assert.equal(describeTree(dest), describeTree(src));
  assert.match(run(['context', 'list']).stdout, /^\* ca\t/m);
});

t('context errors: unknown context, duplicate, bad name, bad store URL, unreadable config — one line each', () => {
  const { dir, run } = home();
  const expect = (args: string[], code: number, names: string, env: Record<string, string> = {}) => {
    const r = run(args, env);
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.ok(r.stderr.includes(names), `${r.stderr} names ${names}`);
  };
  expect(['--context', 'nope', 'repo', 'list'], 1, 'context nope not found');
  expect(['repo', 'list'], 1, 'context gone not found', { DATAMOVER_CONTEXT: 'gone' });
  expect(['context', 'use', 'nope'], 1, 'context nope not found');
  assert.is(run(['context', 'create', 'x', '--store', path.join(dir, 'x')]).code, 0);
  expect(['context', 'create', 'x', '--store', path.join(dir, 'y')], 1, 'context x already exists');
  expect(['context', 'create', 'bad name', '--store', 'x'], 2, 'context name "bad name"');
  expect(['context', 'create', 'y', '--store', 'ftp://h/x'], 2, 'ftp://h/x');
  writeFileSync(path.join(dir, 'config.json'), '{ not json');
  expect(['context', 'list'], 1, 'config.json: not valid JSON');
});

t.run();
