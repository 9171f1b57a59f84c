/**
 * Guards of the command line (issue 13, items 8, 14, 18): a closed stdout never turns into a false success,
 * absurd numbers and empty or escaping values are refused before anything runs.
 */
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, listFiles, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('cli guards: closed stdout, flag bounds, escaping URLs, empty values');

function storeWithRepo(): string {
  const store = tempDir('guard-store');
  const r = cli(['--store', store, 'repo', 'create', 'r']);
  assert.is(r.code, 0, r.stderr);
  return store;
}

/**
 * Runs the binary with stdout read until the first line, then closed (as `| head -1` does); resolves with the
 * exit code once the process has ended.
 */
function runClosingStdout(args: string[]): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [cliPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATAMOVER_AUTHOR: 'Test <t@example.com>' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  let seen = '';
  child.stdout.on('data', (d: Buffer) => {
    seen += d.toString();
    if (seen.includes('\n')) child.stdout.destroy();
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr })));
}

t('item 8: --json upload with stdout closed after one line commits the bundle or fails non-zero', async () => {
  const store = storeWithRepo();
  const src = tempDir('guard-src');
  for (let i = 0; i < 300; i++) writeFile(src, `d${i % 7}/f${i}.bin`, seededBytes(i, 20_000 + i));
  const r = await runClosingStdout(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest']);
  const label = cli(['--store', store, 'label', 'get', 'latest', '--repo', 'r']);
  if (r.code === 0) assert.is(label.code, 0, `exit 0, so the label must exist: ${label.stderr}`);
  else assert.is.not(r.code, 0);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  if (r.code === 0) {
    const dest = tempDir('guard-dest');
    assert.is(cli(['--store', store, 'bundle', 'download', `${dest}/out`, '--repo', 'r', '--label', 'latest']).code, 0);
    assert.is(listFiles(`${dest}/out`).length, 300, 'every file is in the bundle');
  }
});

t('item 8: --json download with stdout closed after one line completes or fails non-zero', async () => {
  const store = storeWithRepo();
  const src = tempDir('guard-src');
  for (let i = 0; i < 300; i++) writeFile(src, `f${i}.bin`, seededBytes(i, 20_000));
  assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'latest']).code, 0);
  const dest = `${tempDir('guard-dest')}/out`;
  const r = await runClosingStdout(['--store', store, '--json', 'bundle', 'download', dest, '--repo', 'r', '--label', 'latest']);
  if (r.code === 0) assert.is(listFiles(dest).length, 300, 'exit 0, so every file is there');
  else assert.is.not(r.code, 0);
});

t('item 14: --workers and --concurrency above their maximum are refused (exit 2, naming the flag)', () => {
  const store = storeWithRepo();
  const src = tempDir('guard-src');
  writeFile(src, 'a', 'a');
  for (const [flag, value] of [['--workers', '100000'], ['--concurrency', '1000000'], ['--workers', '0'], ['--retries', '1e9']]) {
    const before = listFiles(store);
    const r = cli(['--store', store, flag, value, 'bundle', 'upload', src, '--repo', 'r']);
    assert.is(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.ok(r.stderr.includes(flag), r.stderr);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.equal(listFiles(store), before, 'nothing written');
  }
  for (const [flag, args] of [
    ['--objects', ['bench', '--objects', '1000000000000']],
    ['--concurrencies', ['bench', '--concurrencies', '1,99999999']],
    ['--sizes', ['bench', '--sizes', '1000GiB']],
    ['--shard', ['bundle', 'upload', src, '--repo', 'r', '--session', '01J00000000000000000000000', '--shard', '0/99999999999']],
  ] as const) {
    const before = listFiles(store);
    const r = cli(['--store', store, ...args]);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(flag), r.stderr);
    assert.equal(listFiles(store), before, 'nothing written');
  }
});

t('item 18: bucket URLs with . or .. segments are refused (exit 2)', () => {
  for (const url of ['gs://b/../x', 's3://bucket/a/../../b', 's3://bucket/./a', 'gs://b/a//b', 's3://../x']) {
    const r = cli(['--store', url, 'repo', 'list']);
    assert.is(r.code, 2, `${url}: ${r.stderr}`);
    assert.ok(r.stderr.includes(url), r.stderr);
    const c = cli(['copy', tempDir('guard-copy'), url]);
    assert.is(c.code, 2, `copy to ${url}: ${c.stderr}`);
  }
});

t('item 18: empty flag values are refused, not taken as absent (exit 2)', () => {
  const store = storeWithRepo();
  const src = tempDir('guard-src');
  writeFile(src, 'a', 'a');
  for (const args of [
    ['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', ''],
    ['--store', '', 'repo', 'list'],
    ['--store', store, 'bundle', 'upload', src, '--repo', ''],
    ['--store', store, '--author', '', 'bundle', 'upload', src, '--repo', 'r'],
  ]) {
    const before = listFiles(store);
    const r = cli(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(/--\w+/.test(r.stderr) && r.stderr.includes('empty'), r.stderr);
    assert.equal(listFiles(store), before, 'nothing written');
  }
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r']);
  assert.is(up.code, 0, up.stderr);
  assert.is(summaryOf(up.stdout).ok, true);
});

t.run();
