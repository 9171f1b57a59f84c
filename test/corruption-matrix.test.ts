/**
 * The corruption matrix (issue 13, "Done when"): one flipped byte, a truncation and a deletion of each metadata
 * object kind — format.json, an index object, a manifest page, a bundle descriptor, a label, a WAL record, a
 * session record — on a local store, through the binary, every command under a timeout. Every command that
 * reads the object exits non-zero naming it; fsck lists it; a bundle that does not depend on it still
 * downloads; nothing hangs.
 *
 * Where the flip goes: gzipped objects (index objects, pages) in their middle, caught by gzip's CRC or the
 * page checksum; JSON objects in their first byte (`{` becomes `z`). A JSON object carries no checksum, so a
 * flip inside, say, a timestamp digit yields another valid value that no reader can tell from the original;
 * the flips here are the ones that must be caught. Deletions name what the reader was looking for (the
 * bundle, label or session, or the file whose chunks are in no index when an index object is gone: which
 * object held them is then unknowable). Label a is moved twice, so the WAL proves it existed: fsck can tell a
 * lost label only then (a label set once and missing may be a first `label set` interrupted mid-way).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, listFiles, tempDir, writeFile } from './helpers.js';

const t = suite('corruption matrix: flipped, truncated or deleted metadata of each kind');

const TIMEOUT_MS = 20_000;
/** Processes at once: the timeout measures a hang, not a queue for the CPU. */
const PARALLEL = 2;

interface Run { args: string[]; code: number; out: string; timedOut: boolean }

let running = 0;
const waiting: (() => void)[] = [];

/** Runs the binary under a timeout (SIGKILL: a hang fails the case, it does not stall the suite), PARALLEL at a time. */
async function run(store: string, args: string[]): Promise<Run> {
  if (running >= PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await runNow(store, args);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runNow(store: string, args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [cliPath, '--store', store, ...args], {
    env: { ...process.env, DATAMOVER_AUTHOR: 'Test User <test@example.com>', DATAMOVER_HOME: home },
    timeout: TIMEOUT_MS, killSignal: 'SIGKILL', stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ args, code: code ?? -1, out, timedOut: signal === 'SIGKILL' })));
}

const home = tempDir('matrix-home');

/** The pristine store: bundle A (label a), then bundle B (label b, its own index object), an open session. */
function pristine() {
  const store = path.join(tempDir('matrix'), 'store');
  const srcA = tempDir('matrix-a');
  const srcB = tempDir('matrix-b');
  writeFile(srcA, 'a1.txt', 'alpha one\n');
  writeFile(srcA, 'm/a2.txt', 'alpha two\n');
  writeFile(srcB, 'b1.txt', 'beta one\n');
  const c = (...args: string[]) => {
    const r = cli(['--store', store, ...args]);
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout.trim();
  };
  c('repo', 'create', 'r');
  c('bundle', 'upload', srcA, '--repo', 'r', '--label', 'a');
  c('bundle', 'upload', srcB, '--repo', 'r', '--label', 'b');
  const json = (rel: string) => JSON.parse(readFileSync(path.join(store, rel), 'utf8'));
  // Moved twice: its WAL chain proves that the label existed (what lets fsck tell a lost label).
  c('label', 'set', 'a', '--repo', 'r', '--bundle', json('meta/repos/r/labels/a.json').bundle as string);
  const session = c('--quiet', 'session', 'start', '--repo', 'r');
  c('bundle', 'upload', srcA, '--repo', 'r', '--session', session, '--shard', '0/1');
  const idA = json('meta/repos/r/labels/a.json').bundle as string;
  const idB = json('meta/repos/r/labels/b.json').bundle as string;
  const descA = `meta/repos/r/bundles/${idA}/bundle.json`;
  return {
    store, srcA, srcB, session, idA, idB,
    indexB: `blobs/index/${listFiles(path.join(store, 'blobs/index')).sort().at(-1)!}`,
    pageA: json(descA).pages[0].key as string,
    descA,
    walA: `wal/r/${json('meta/repos/r/labels/a.json').wal as string}.json`,
  };
}

type Damage = 'flip' | 'truncate' | 'delete';
type P = ReturnType<typeof pristine>;

interface Kind {
  kind: string;
  key: (p: P) => string;
  /** What every failing command must mention, per damage. */
  names: (p: P, damage: Damage) => string;
  /** Commands that read the object: each must fail naming it. */
  readers: (p: P, dest: string, damage: Damage) => string[][];
  /** A download that must still work (none: the whole store depends on the object). */
  unrelated?: (p: P, dest: string) => string[];
  gz?: boolean;
}

const download = (label: string, dest: string) => ['bundle', 'download', dest, '--repo', 'r', '--label', label];
const verify = (label: string) => ['bundle', 'verify', '--repo', 'r', '--label', label];

const kinds: Kind[] = [
  {
    kind: 'format', key: () => 'format.json', names: () => 'format.json',
    readers: (_p, dest) => [download('a', dest), ['repo', 'list'], ['bundle', 'list', '--repo', 'r']],
  },
  {
    kind: 'index', gz: true, key: (p) => p.indexB,
    names: (p, d) => (d === 'delete' ? 'b1.txt' : p.indexB),
    readers: (p, dest, d) => [download('b', dest), verify('b'), ...(d === 'delete' ? [] : [['bundle', 'upload', p.srcB, '--repo', 'r']])],
    unrelated: (_p, dest) => download('a', dest),
  },
  {
    kind: 'page', gz: true, key: (p) => p.pageA, names: (p) => p.pageA,
    readers: (_p, dest) => [download('a', dest), verify('a'), ['bundle', 'files', '--repo', 'r', '--label', 'a']],
    unrelated: (_p, dest) => download('b', dest),
  },
  {
    kind: 'descriptor', key: (p) => p.descA, names: (p) => p.idA,
    readers: (p, dest, d) => [download('a', dest), ['bundle', 'get', p.idA, '--repo', 'r'], ...(d === 'delete' ? [] : [['bundle', 'list', '--repo', 'r']])],
    unrelated: (_p, dest) => download('b', dest),
  },
  {
    kind: 'label', key: () => 'meta/repos/r/labels/a.json', names: (_p, d) => (d === 'delete' ? 'label a' : 'meta/repos/r/labels/a.json'),
    readers: (_p, dest, d) => [download('a', dest), ['label', 'get', 'a', '--repo', 'r'], ...(d === 'delete' ? [] : [['label', 'list', '--repo', 'r']])],
    unrelated: (_p, dest) => download('b', dest),
  },
  {
    kind: 'WAL record', key: (p) => p.walA, names: (p) => p.walA,
    readers: (_p, _dest, d) => [['label', 'history', 'a', '--repo', 'r'], ...(d === 'delete' ? [] : [['log', '--repo', 'r']])],
    unrelated: (_p, dest) => download('a', dest),
  },
  {
    kind: 'session record', key: (p) => `meta/sessions/${p.session}/session.json`, names: (p) => p.session,
    readers: (p) => [['bundle', 'commit', '--repo', 'r', '--session', p.session]],
    unrelated: (_p, dest) => download('a', dest),
  },
];

function damage(file: string, how: Damage, gz: boolean): void {
  if (how === 'delete') return rmSync(file);
  if (how === 'truncate') return truncateSync(file, Math.floor(readFileSync(file).length / 2));
  const data = readFileSync(file);
  data[gz ? Math.floor(data.length / 2) : 0] ^= 0x01;
  writeFileSync(file, data);
}


t('each kind × flip, truncate, delete: readers fail naming it, fsck lists it, unrelated bundles download, nothing hangs', async () => {
  const p = pristine();
  const failures: string[] = [];
  const cases = kinds.flatMap((k) => (['flip', 'truncate', 'delete'] as Damage[]).map((d) => ({ k, d })));
  await Promise.all(cases.map(async ({ k, d }) => {
    const label = `${k.kind} ${d}`;
    const store = path.join(tempDir('matrix-case'), 'store');
    spawnSync('cp', ['-a', p.store, store]);
    damage(path.join(store, k.key(p)), d, !!k.gz);
    const dest = (n: string) => path.join(tempDir('matrix-dest'), n);
    const names = k.names(p, d);
    const checks: [string, Promise<Run>, boolean][] = k.readers(p, dest('r'), d).map((args, i) => [`reader ${i}`, run(store, args.map((a) => (a === dest('r') ? dest(`r${i}`) : a))), false]);
    checks.push(['fsck', run(store, ['fsck']), true]);
    if (k.unrelated) checks.push(['unrelated', run(store, k.unrelated(p, dest('u'))), true]);
    for (const [what, pending] of checks) {
      const r = await pending;
      const cmd = `${label}: ${r.args.join(' ')}`;
      if (r.timedOut) failures.push(`${cmd}: hung (killed after ${TIMEOUT_MS} ms)`);
      else if (what === 'unrelated') { if (r.code !== 0) failures.push(`${cmd}: exit ${r.code}, expected 0: ${r.out}`); }
      else if (r.code === 0) failures.push(`${cmd}: exit 0`);
      else if (!r.out.includes(names)) failures.push(`${cmd}: does not name ${names}: ${r.out.trim()}`);
      else if (r.out.includes('INTERNAL')) failures.push(`${cmd}: an internal error: ${r.out.trim()}`);
    }
  }));
  assert.equal(failures, [], failures.join('\n'));
  assert.ok(readdirSync(p.store).includes('format.json'), 'the pristine store was not touched');
});

t.run();
