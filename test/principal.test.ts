/**
 * The principal on the local store: every WAL and read-log record (and bundle and repo descriptor) names the uid,
 * user and host of the process that wrote it, whatever `--author` declares, and log, readlog, label history,
 * bundle list/get and --json show both. Records written before principals still read.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { asNobody, cli, runsIf, summaryOf, tempDir, writeFile } from './helpers.js';
import { get, startServe } from './serve-helpers.js';

const t = suite('principal: the local user on every record, whatever --author says');

const LIAR = 'Mallory <ceo@example.com>';
const uid = process.getuid!();
const user = os.userInfo().username;
const host = os.hostname();
const me = { id: `${user}@${host}`, via: 'local-user', uid, user, host };
const meText = `${user}@${host} (uid ${uid})`;

/** A store with repo r, one bundle labelled prod and one download, each command run `--author` LIAR. */
function writtenStore(): { store: string; bundle: string } {
  const store = tempDir('principal-store');
  const src = tempDir('principal-src');
  writeFile(src, 'a.txt', 'alpha');
  const run = (...args: string[]) => {
    const r = cli(['--store', store, '--author', LIAR, ...args]);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  run('repo', 'create', 'r');
  const bundle = summaryOf(run('--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'prod').stdout).bundle as string;
  run('bundle', 'download', path.join(tempDir('principal-dest'), 'out'), '--repo', 'r', '--label', 'prod');
  return { store, bundle };
}

/** The records of `log`/`readlog --json`. */
function jsonRecords(store: string, command: 'log' | 'readlog'): Record<string, unknown>[] {
  const r = cli(['--store', store, '--json', command, '--repo', 'r']);
  assert.is(r.code, 0, r.stderr);
  return r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record').map((l) => l.record);
}

/** One store for the tests that only read it. */
let shared: ReturnType<typeof writtenStore> | undefined;
const sharedStore = () => (shared ??= writtenStore());

t('every WAL and read-log record names the uid, user and host, beside the declared contributor', () => {
  const { store } = sharedStore();
  const wal = jsonRecords(store, 'log');
  assert.equal(wal.map((r) => r.type), ['repo.create', 'bundle.commit', 'label.set']);
  for (const r of wal) {
    assert.equal(r.contributor, { name: 'Mallory', email: 'ceo@example.com' }, 'the declared contributor, as declared');
    assert.equal(r.principal, me, `${String(r.type)}: the principal is this process's user`);
  }
  const reads = jsonRecords(store, 'readlog');
  assert.is(reads.length, 1);
  assert.equal(reads[0]!.contributor, { name: 'Mallory', email: 'ceo@example.com' });
  assert.equal(reads[0]!.principal, me);
  // The raw read-log objects too: start and end record each name it.
  const day = readdirSync(path.join(store, 'readlog', 'r'))[0]!;
  const raw = readdirSync(path.join(store, 'readlog', 'r', day)).map((f) => JSON.parse(readFileSync(path.join(store, 'readlog', 'r', day, f), 'utf8')));
  assert.equal(raw.map((r) => r.phase).sort(), ['end', 'start']);
  for (const r of raw) assert.equal(r.principal, me);
});

t('log, readlog, label history, bundle list/get and repo get show the contributor and the principal', () => {
  const { store, bundle } = sharedStore();
  const text = (...args: string[]) => {
    const r = cli(['--store', store, ...args]);
    assert.is(r.code, 0, r.stderr);
    return r.stdout.trim().split('\n');
  };
  for (const line of text('log', '--repo', 'r')) assert.ok(line.includes(`${LIAR}\t${meText}`), line);
  for (const line of text('readlog', '--repo', 'r')) assert.ok(line.includes(`${LIAR}\t${meText}`), line);
  const [move] = text('label', 'history', 'prod', '--repo', 'r');
  assert.ok(move!.includes(`${LIAR}\t${meText}\t`), move);
  const [listed] = text('bundle', 'list', '--repo', 'r');
  assert.ok(listed!.startsWith(bundle) && listed!.includes(`${LIAR}\t${meText}`), listed);
  assert.ok(text('bundle', 'get', bundle, '--repo', 'r').includes(`principal: ${meText}`));
  assert.ok(text('repo', 'get', 'r').includes(`principal: ${meText}`));
  const history = summaryOf(cli(['--store', store, '--json', 'label', 'history', 'prod', '--repo', 'r']).stdout).moves;
  assert.equal(history[0].principal, me);
  assert.equal(history[0].contributor, { name: 'Mallory', email: 'ceo@example.com' });
  const bundles = summaryOf(cli(['--store', store, '--json', 'bundle', 'list', '--repo', 'r']).stdout).bundles;
  assert.equal(bundles[0].principal, me);
});

t('the web UI shows the principal beside the contributor: WAL, read log, bundles, labels, repos and a bundle', async () => {
  const { store, bundle } = sharedStore();
  const served = await startServe(store);
  try {
    const escaped = `${user}@${host} (uid ${uid})`.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    for (const page of ['/log', '/readlog', '/repos/r', '/repos/r/labels', '/', `/repos/r/bundles/${bundle}`]) {
      const body = (await get(served.url, page)).body.toString();
      assert.ok(body.includes('principal'), `${page} has a principal column`);
      assert.ok(body.includes(escaped), `${page} names ${escaped}`);
      if (page.includes('log')) assert.ok(body.includes('ceo@example.com'), `${page} names the contributor too`);
    }
  } finally {
    await served.stop();
  }
});

const isRoot = process.getuid?.() === 0;
runsIf(t, isRoot ? undefined : 'needs root to run a second writer as nobody')('a writer running as another uid is recorded as that uid, whatever it declares', () => {
  const { store, bundle } = writtenStore();
  execFileSync('chmod', ['-R', 'a+rwX', store]);
  const r = asNobody(['--store', store, '--author', `${user} <${user}@${host}>`, 'label', 'set', 'other', '--repo', 'r', '--bundle', bundle]);
  assert.is(r.code, 0, r.stderr);
  const last = jsonRecords(store, 'log').at(-1)!;
  assert.is(last.type, 'label.set');
  assert.equal(last.contributor, { name: user, email: `${user}@${host}` }, 'it claims to be the store owner');
  assert.equal(last.principal, { id: `nobody@${host}`, via: 'local-user', uid: 65534, user: 'nobody', host }, 'the principal is who it is');
});

t('records written before principals still read: shown as -, absent in --json', () => {
  const { store } = writtenStore();
  const strip = (file: string) => {
    const record = JSON.parse(readFileSync(file, 'utf8'));
    delete record.principal;
    writeFileSync(file, JSON.stringify(record));
  };
  const walDir = path.join(store, 'wal', 'r');
  for (const f of readdirSync(walDir)) strip(path.join(walDir, f));
  const day = readdirSync(path.join(store, 'readlog', 'r'))[0]!;
  for (const f of readdirSync(path.join(store, 'readlog', 'r', day))) strip(path.join(store, 'readlog', 'r', day, f));
  for (const command of ['log', 'readlog'] as const) {
    const r = cli(['--store', store, command, '--repo', 'r']);
    assert.is(r.code, 0, r.stderr);
    for (const line of r.stdout.trim().split('\n')) assert.ok(line.includes(`${LIAR}\t-`), line);
    for (const record of jsonRecords(store, command)) assert.is(record.principal, undefined);
  }
});

t('a malformed principal is damage: log fails with exit 4 naming the record', () => {
  const { store } = writtenStore();
  const walDir = path.join(store, 'wal', 'r');
  const file = readdirSync(walDir).sort()[1]!;
  const record = JSON.parse(readFileSync(path.join(walDir, file), 'utf8'));
  writeFileSync(path.join(walDir, file), JSON.stringify({ ...record, principal: 'root' }));
  const r = cli(['--store', store, 'log', '--repo', 'r']);
  assert.is(r.code, 4, r.stderr);
  assert.ok(r.stderr.includes(file) && r.stderr.includes('principal'), r.stderr);
});

t.run();
