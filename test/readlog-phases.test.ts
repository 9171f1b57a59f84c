/**
 * The read log records a read when it starts and when it ends, through the built binary: a piped listing cut
 * short by its reader, an interrupted download and a killed one are all in the log; old single records still read.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';
import { interruptWhen } from './interrupt-helpers.js';

const t = suite('read log: a start and an end record per read');

interface Read { type: string; outcome?: string; files: number; bytes: number; read?: string; started?: string; at: string; phase?: string }

function reads(store: string): Read[] {
  const r = cli(['--store', store, '--json', 'readlog', '--repo', 'r']);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record').map((l) => l.record as Read);
}

/** A store with repo `r` and bundle `l` of `files` files of `size` bytes each. */
function storeWith(files: number, size: number): string {
  const store = path.join(tempDir('rl'), 's');
  const src = tempDir('rl-src');
  for (let i = 0; i < files; i++) writeFile(src, `d${i % 4}/f${String(i).padStart(5, '0')}`, seededBytes(i, size));
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(up.code, 0, up.stderr);
  return store;
}

t('bundle files | head -1: the listing is in the read log, started and completed, one read with one id', () => {
  const store = storeWith(3000, 16);
  const piped = spawnSync('bash', ['-c', 'set -o pipefail; "$0" "$1" --store "$2" bundle files --repo r --label l | head -1', process.execPath, cliPath, store],
    { encoding: 'utf8', env: { ...process.env, DATAMOVER_HOME: tempDir('rl-home') } });
  assert.is(piped.stdout.split('\n').length, 2, 'head took one line');
  const [read, ...more] = reads(store);
  assert.is(more.length, 0, JSON.stringify(more));
  assert.is(read!.type, 'bundle.files');
  assert.is(read!.outcome, 'completed');
  assert.is(read!.files, 3000);
  assert.match(read!.read ?? '', /^[0-9A-Z]{26}$/);
  assert.ok(read!.started! <= read!.at, `${read!.started} <= ${read!.at}`);
  assert.is(read!.phase, undefined, 'one read, not its records');
});

t('a SIGINT\'d download is in the read log as interrupted; a killed one as unfinished (its start record)', async () => {
  const store = storeWith(48, 1024 * 1024);
  const dl = (tag: string) => ['--store', store, '--concurrency', '1', 'bundle', 'download', path.join(tempDir(tag), 'o'), '--repo', 'r', '--label', 'l'];
  const started = (events: { type: string }[]) => events.some((e) => e.type === 'download.progress');
  const int = await interruptWhen(dl('rl-int'), started, ['SIGINT']);
  assert.is(int.code, 130, int.stderr);
  const killed = await interruptWhen(dl('rl-kill'), started, ['SIGKILL']);
  assert.is(killed.code, null, 'killed');
  const [interrupted, unfinished, ...more] = reads(store);
  assert.is(more.length, 0);
  assert.equal([interrupted!.type, interrupted!.outcome], ['bundle.download', 'interrupted']);
  assert.ok(interrupted!.files < 48, `${interrupted!.files} files before the interrupt`);
  assert.equal([unfinished!.type, unfinished!.outcome, unfinished!.files], ['bundle.download', 'unfinished', 0]);
  assert.is(unfinished!.started, unfinished!.at);
  const text = cli(['--store', store, 'readlog', '--repo', 'r']).stdout.trim().split('\n');
  assert.match(text[0]!, /\tbundle\.download\t.* interrupted$/);
  assert.match(text[1]!, /\tbundle\.download\t.* unfinished$/);
  const done = cli(dl('rl-done'));
  assert.is(done.code, 0, done.stderr);
  assert.equal(reads(store).map((r) => r.outcome), ['interrupted', 'completed', 'unfinished'], 'ended reads in the order they ended, then the unfinished');
});

t('a failed read ends as failed with its error; a record of an older log (one per read) still reads', () => {
  const store = storeWith(2, 10);
  const bundle = summaryOf(cli(['--store', store, '--json', 'bundle', 'get', 'l', '--repo', 'r']).stdout).bundle.id as string;
  const old = { id: '01HZZZZZZZZZZZZZZZZZZZZZZZ', type: 'bundle.download', repo: 'r', bundle, at: '2024-06-01T00:00:00.000Z',
    contributor: { name: 'Old', email: 'old@example.com' }, files: 2, bytes: 20 };
  mkdirSync(path.join(store, 'readlog/r/2024-06-01'), { recursive: true });
  writeFileSync(path.join(store, `readlog/r/2024-06-01/${old.id}.json`), JSON.stringify(old));
  const dest = tempDir('rl-fail');
  writeFileSync(path.join(dest, 'd0'), 'a file where a directory goes');
  const failed = cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']);
  assert.is(failed.code, 4, failed.stderr);
  const [first, second] = reads(store) as (Read & { error?: string; contributor: { email: string } })[];
  assert.equal(first, old, 'the old record, as written');
  assert.equal([second!.type, second!.outcome], ['bundle.download', 'failed']);
  assert.ok(second!.error && failed.stderr.includes(second!.error.slice(0, 40)), `${second!.error} | ${failed.stderr}`);
});

t.run();
