/** The metadata layer through the built binary: label compare-and-swap races, label history and delete, log, readlog. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { labelHistory } from '../engine/meta/labels.js';
import { LocalStorage } from '../engine/storage/local.js';
import { cli, cliPath, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('meta: labels, WAL and read log');

function storeWithBundles(n: number): { store: string; bundles: string[] } {
  const store = path.join(tempDir('meta'), 'store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const bundles: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = tempDir('meta-src');
    writeFile(src, 'f.txt', `version ${i}`);
    const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--message', `v${i}`]);
    assert.is(up.code, 0, up.stderr);
    bundles.push(summaryOf(up.stdout).bundle);
  }
  return { store, bundles };
}

/** Runs `label set` `times` times in one shell loop (one process per set, as users would); returns the moves' WAL ids. */
function racer(store: string, bundle: string, times: number, author: string): Promise<string[]> {
  const script = `for i in $(seq ${times}); do "${process.execPath}" "${cliPath}" --store "${store}" --json --author "${author}" label set L --repo r --bundle ${bundle} || exit 1; done`;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { env: { ...process.env, DATAMOVER_HOME: tempDir('home') } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stderr.on('data', (c: Buffer) => { err += c; });
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`racer exited ${code}: ${err}`));
      else resolve(out.trim().split('\n').map((l) => (JSON.parse(l) as { label: { wal: string } }).label.wal));
    });
  });
}

t('two processes racing `label set` 50 times each: the WAL chain holds all 100 moves, in each racer\'s order, and the label is the last', async () => {
  const { store, bundles } = storeWithBundles(2);
  const [a, b] = await Promise.all([racer(store, bundles[0]!, 50, 'A <a@example.com>'), racer(store, bundles[1]!, 50, 'B <b@example.com>')]);
  const history = await labelHistory(new LocalStorage(store), 'r', 'L');
  const chain = history.map((m) => m.id).reverse(); // oldest first
  assert.is(chain.length, 100, 'every successful move is on the chain, nothing else');
  assert.equal([...chain].sort(), [...a, ...b].sort());
  assert.equal(chain.filter((id) => a.includes(id)), a, "racer A's moves in its order");
  assert.equal(chain.filter((id) => b.includes(id)), b, "racer B's moves in its order");
  const last = history[0]!;
  const label = JSON.parse(cli(['--store', store, '--json', 'label', 'get', 'L', '--repo', 'r']).stdout).label;
  assert.is(label.wal, last.id);
  assert.is(label.bundle, last.bundle);
  for (let i = 0; i + 1 < history.length; i++) assert.is(history[i]!.previous, history[i + 1]!.bundle, 'each move names the value it replaced');
});

t('label set --expect is a user-level compare-and-swap; delete is a recorded move; history shows both', () => {
  const { store, bundles } = storeWithBundles(2);
  const [a, b] = bundles as [string, string];
  assert.is(cli(['--store', store, 'label', 'set', 'L', '--repo', 'r', '--bundle', a, '--expect', 'none']).code, 0);
  const stale = cli(['--store', store, 'label', 'set', 'L', '--repo', 'r', '--bundle', b, '--expect', b]);
  assert.is(stale.code, 1);
  assert.ok(stale.stderr.includes(`points at ${a}`), stale.stderr);
  assert.is(cli(['--store', store, 'label', 'set', 'L', '--repo', 'r', '--bundle', b, '--expect', a]).code, 0);
  assert.is(cli(['--store', store, 'label', 'delete', 'L', '--repo', 'r']).code, 0);
  assert.is(cli(['--store', store, 'label', 'get', 'L', '--repo', 'r']).code, 1);
  assert.ok(!cli(['--store', store, 'label', 'list', '--repo', 'r']).stdout.includes('L\t'));
  const gone = cli(['--store', store, 'label', 'delete', 'L', '--repo', 'r']);
  assert.is(gone.code, 1);
  assert.ok(gone.stderr.includes('label L not found'), gone.stderr);
  const moves = JSON.parse(cli(['--store', store, '--json', 'label', 'history', 'L', '--repo', 'r']).stdout).moves as { type: string; bundle: string | null }[];
  assert.equal(moves.map((m) => `${m.type} ${m.bundle}`), ['label.delete null', `label.set ${b}`, `label.set ${a}`]);
  assert.is(cli(['--store', store, 'label', 'set', 'L', '--repo', 'r', '--bundle', a, '--expect', 'none']).code, 0, 'a deleted label can be set again');
});

t('log: repo create → bundle commit → label set in order, with contributors; readlog: each download and listing', () => {
  const store = path.join(tempDir('log'), 'store');
  const src = tempDir('log-src');
  writeFile(src, 'a/b.txt', 'bee');
  writeFile(src, 'c.txt', 'sea');
  const as = (who: string) => ['--store', store, '--author', who];
  cli([...as('Ann <ann@example.com>'), 'repo', 'create', 'r']);
  cli([...as('Bob <bob@example.com>'), 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest', '--message', 'first']);
  for (const who of ['Cy <cy@example.com>', 'Di <di@example.com>']) {
    assert.is(cli([...as(who), 'bundle', 'download', tempDir('log-dest'), '--repo', 'r', '--label', 'latest']).code, 0);
  }
  cli([...as('Ed <ed@example.com>'), 'bundle', 'files', '--repo', 'r', '--label', 'latest']);
  const log = cli(['--store', store, '--json', 'log', '--repo', 'r']).stdout.trim().split('\n').map((l) => JSON.parse(l));
  const records = log.filter((l) => l.type === 'record').map((l) => l.record);
  assert.equal(records.map((r) => `${r.type} ${r.contributor.email}`), [
    'repo.create ann@example.com', 'bundle.commit bob@example.com', 'label.set bob@example.com',
  ]);
  assert.is(records[1].message, 'first');
  const reads = cli(['--store', store, '--json', 'readlog', '--since', '1h']).stdout.trim().split('\n').map((l) => JSON.parse(l))
    .filter((l) => l.type === 'record').map((l) => `${l.record.type} ${l.record.contributor.email} ${l.record.files}`);
  assert.equal(reads, ['bundle.download cy@example.com 2', 'bundle.download di@example.com 2', 'bundle.files ed@example.com 2']);
  const human = cli(['--store', store, 'log']).stdout;
  assert.match(human, /label\.set\tr\tlatest -> [0-9A-Z]{26} \(was unset\)\tBob <bob@example\.com>/);
  assert.is(cli(['--store', store, 'log', '--since', '2999-01-01']).stdout, '');
  const bad = cli(['--store', store, 'log', '--since', 'yesterday']);
  assert.is(bad.code, 2);
  assert.ok(bad.stderr.includes('--since "yesterday"'), bad.stderr);
});

t('log --follow prints records as they land', async () => {
  const store = path.join(tempDir('follow'), 'store');
  assert.is(cli(['--store', store, 'repo', 'create', 'first']).code, 0);
  const child = spawn(process.execPath, [cliPath, '--store', store, 'log', '--follow'], { env: { ...process.env, DATAMOVER_HOME: tempDir('home') } });
  let out = '';
  child.stdout.on('data', (c: Buffer) => { out += c; });
  const waitFor = async (text: string) => {
    for (let i = 0; i < 100 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
    return out.includes(text);
  };
  try {
    assert.ok(await waitFor('repo.create\tfirst'), out);
    assert.is(cli(['--store', store, 'repo', 'create', 'second']).code, 0);
    assert.ok(await waitFor('repo.create\tsecond'), `the new record appeared: ${out}`);
    assert.is(out.split('repo.create\tfirst').length, 2, 'no record is printed twice');
  } finally {
    child.kill();
  }
});

t.run();
