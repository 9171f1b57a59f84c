/** Split uploads through the binary on the local store: shards as processes, commit, rerun, and every refusal. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { manifestOf, startSession } from './session-helpers.js';
import { cli, cliAsync, cliAwait, describeTree, listFiles, makeMixedTree, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('sessions: one bundle from many shard uploads');


function storeWithRepo(): string {
  const store = tempDir('sess-store');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  return store;
}

let tree: string | undefined;
function sourceTree(): string {
  if (tree) return tree;
  tree = tempDir('sess-src');
  makeMixedTree(tree, 600);
  for (let i = 0; i < 8; i++) writeFile(tree, `big/f${i}.bin`, seededBytes(900 + i, 3 * 1024 * 1024 + i));
  return tree;
}

t('4 shard processes (--shard and JOB_COMPLETION_INDEX) then commit: the manifest equals a single upload\'s, the tree round-trips', async () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const session = startSession(store);
  const shards = await Promise.all([0, 1, 2, 3].map((i) => (i % 2
    ? cliAwait(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', `${i}/4`])
    : cliAwait(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--shards', '4'],
      { DATAMOVER_SESSION: session, JOB_COMPLETION_INDEX: String(i) }))));
  for (const r of shards) assert.is(r.code, 0, r.stderr);
  assert.equal(shards.map((r) => summaryOf(r.stdout).shard), ['0/4', '1/4', '2/4', '3/4']);
  const commit = cli(['--store', store, '--json', 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'split']);
  assert.is(commit.code, 0, commit.stderr);
  assert.is(summaryOf(commit.stdout).bundle, session, 'the bundle takes the session\'s id');
  const single = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'single', '--rehash']);
  assert.is(single.code, 0, single.stderr);
  assert.is(summaryOf(single.stdout).newBytes, 0, 'the shards stored every byte already');
  assert.equal(await manifestOf(store, 'r', session), await manifestOf(store, 'r', summaryOf(single.stdout).bundle as string));
  const dest = path.join(tempDir('sess-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'split']).code, 0);
  assert.equal(describeTree(dest), describeTree(src));
  const log = cli(['--store', store, 'log', '--repo', 'r']).stdout;
  assert.match(log, new RegExp(`session.start\\tr\\tsession ${session} "split"`));
  assert.match(log, new RegExp(`bundle.commit\\tr\\t${session} "split" \\(4 shards of session ${session}\\)`));
  assert.is(cli(['--store', store, 'fsck']).code, 0);
});

t('a shard killed mid-upload and rerun, then commit: the same bundle content as an uninterrupted split', async () => {
  const store = storeWithRepo();
  const src = sourceTree();
  const session = startSession(store);
  for (const i of [0, 2, 3]) assert.is(cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', `${i}/4`]).code, 0);
  const child = cliAsync(['--store', store, '--workers', '1', '--concurrency', '1', 'bundle', 'upload', src, '--repo', 'r',
    '--session', session, '--shard', '1/4', '--pack-size', '1MiB', '--budget', '8MiB']);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const packs = path.join(store, 'blobs/packs');
  const landed = () => (existsSync(packs) ? listFiles(packs).length : 0);
  const before = landed();
  const deadline = Date.now() + 30_000;
  while (landed() < before + 2 && Date.now() < deadline) await sleep(2);
  child.kill('SIGKILL');
  assert.is(await exited, null, 'killed before it finished');
  const early = cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session]);
  assert.is(early.code, 1, 'the killed shard has no record yet');
  assert.match(early.stderr, /shard 1\/4 not finished/);
  const rerun = cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', '1/4']);
  assert.is(rerun.code, 0, rerun.stderr);
  const commit = cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'l']);
  assert.is(commit.code, 0, commit.stderr);
  const reference = storeWithRepo();
  const refSession = startSession(reference);
  for (const i of [0, 1, 2, 3]) assert.is(cli(['--store', reference, 'bundle', 'upload', src, '--repo', 'r', '--session', refSession, '--shard', `${i}/4`]).code, 0);
  assert.is(cli(['--store', reference, 'bundle', 'commit', '--repo', 'r', '--session', refSession]).code, 0);
  assert.equal(await manifestOf(store, 'r', session), await manifestOf(reference, 'r', refSession));
  const dest = path.join(tempDir('sess-rerun-dest'), 'out');
  assert.is(cli(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'l']).code, 0);
  assert.equal(describeTree(dest), describeTree(src));
});

t('commit refuses: a missing shard, shards disagreeing on N, a second commit; nothing becomes visible', () => {
  const store = storeWithRepo();
  const src = tempDir('sess-small');
  for (let i = 0; i < 40; i++) writeFile(src, `f${i}.txt`, `file ${i}`);
  const session = startSession(store);
  const upload = (shard: string) => cli(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--session', session, '--shard', shard]);
  assert.is(upload('0/3').code, 0);
  assert.is(upload('2/3').code, 0);
  const commit = () => cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', session, '--label', 'l']);
  const missing = commit();
  assert.is(missing.code, 1);
  assert.is(missing.stderr.trim(), `datamover: error: session ${session}: shard 1/3 not finished`);
  assert.is(upload('1/2').code, 0);
  const disagree = commit();
  assert.is(disagree.code, 1);
  assert.match(disagree.stderr, /disagree on the shard count \((3 vs 2|2 vs 3)\)/);
  assert.is(cli(['--store', store, 'bundle', 'list', '--repo', 'r']).stdout.trim(), '', 'no bundle');
  assert.is(upload('1/3').code, 0, 'rerunning the shard with the right count replaces its record');
  assert.is(commit().code, 0);
  const again = commit();
  assert.is(again.code, 1);
  assert.is(again.stderr.trim(), `datamover: error: session ${session} is already committed (as bundle ${session})`);
  const late = upload('0/3');
  assert.is(late.code, 1, 'a committed session takes no more shards');
  assert.match(late.stderr, /already committed/);
});

t('bad shard flags are usage errors (exit 2) naming the flag; a session of another repo is refused', () => {
  const store = storeWithRepo();
  assert.is(cli(['--store', store, 'repo', 'create', 'other']).code, 0);
  const src = tempDir('sess-flags');
  writeFile(src, 'a.txt', 'a');
  const session = startSession(store);
  const up = (...args: string[]) => cli(['--store', store, 'bundle', 'upload', src, ...args]);
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [['--repo', 'r', '--shard', '0/2'], /--shard\/--shards need --session/],
    [['--repo', 'r', '--session', session, '--shard', '2/2'], /--shard "2\/2": expected i\/N/],
    [['--repo', 'r', '--session', session, '--shard', 'x'], /--shard "x"/],
    [['--repo', 'r', '--session', session], /--session needs --shard i\/N, or JOB_COMPLETION_INDEX/],
    [['--repo', 'r', '--session', session, '--shards', '0'], /--shards: expected an integer from 1 to 10000/, { JOB_COMPLETION_INDEX: '0' }],
    [['--repo', 'r', '--session', session, '--shard', '0/2', '--label', 'l'], /--label goes on `bundle commit`/],
    [['--repo', 'r', '--session', 'nope', '--shard', '0/2'], /session id "nope" is malformed/],
  ];
  for (const [args, message, env] of cases) {
    const r = cli(['--store', store, 'bundle', 'upload', src, ...args], env);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  const other = up('--repo', 'other', '--session', session, '--shard', '0/1');
  assert.is(other.code, 2);
  assert.match(other.stderr, new RegExp(`session ${session} belongs to repo r, not other`));
  const unknown = cli(['--store', store, 'bundle', 'commit', '--repo', 'r', '--session', '01M86BK7V04488ATDCW03W24WZ']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /session 01M86BK7V04488ATDCW03W24WZ not found/);
  assert.equal(readdirSync(path.join(store, 'meta/repos/r')).sort(), ['repo.json'], 'nothing written for the repo');
});

t.run();
