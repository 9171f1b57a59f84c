/**
 * A destination directory swapped for a symlink while a download writes into it: nothing is written, renamed
 * or changed outside the destination, and the run either restores the bundle exactly or fails naming the path.
 * A separate process swaps directories in a tight loop while the download runs (seeded layout, many rounds).
 */
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAwait, runsIf, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('destination swapped for a symlink during a download');

const DIRS = 12;
const FILES = 25;

/**
 * Swaps each d<i> with a symlink to `outside` in one step (renameat2 RENAME_EXCHANGE through ctypes: no moment
 * without an entry, so a write is never failed by the swap itself), until `stop` exists. 'always': over and over,
 * from the moment it appears; 'written': once, as soon as the download has written an entry into it.
 */
const SWAPPER = `
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
dest, outside, dirs, stop, mode = sys.argv[1:]
done = set()
rounds = 0
while not os.path.exists(stop) and rounds < 5000000:
    rounds += 1
    for i in range(int(dirs)):
        d = os.path.join(dest, 'd%d' % i)
        try:
            if mode == 'written' and (i in done or os.path.islink(d) or not os.listdir(d)):
                continue
            link = '%s.swap%d' % (d, rounds)
            os.symlink(outside, link)
            if libc.renameat2(-100, link.encode(), -100, d.encode(), 2) == 0:
                done.add(i)
        except OSError:
            pass
`;

/**
 * The real directory that was `name` when the run checked it: `name` itself, or, when the swapper exchanged it
 * for a symlink after the run had finished with it, the `name.swap<n>` it was moved to (exactly one is real).
 */
function realDirOf(dest: string, name: string): string {
  const real = readdirSync(dest).filter((n) => (n === name || n.startsWith(`${name}.swap`)) && lstatSync(path.join(dest, n)).isDirectory());
  assert.is(real.length, 1, `one real directory for ${name}: ${real.join(', ')}`);
  return path.join(dest, real[0]!);
}

function outsideState(dir: string): string {
  return readdirSync(dir).sort().map((n) => {
    const st = statSync(path.join(dir, n));
    return `${n}:${st.mode}:${st.mtimeMs}:${readFileSync(path.join(dir, n)).toString('hex').slice(0, 16)}`;
  }).join('\n');
}

const hasPython = spawnSync('python3', ['-c', 'import ctypes; ctypes.CDLL(None).renameat2']).status === 0;
const needsPython = runsIf(t, hasPython ? undefined : 'needs python3 with renameat2 in libc to swap a directory in one step');

/** A store with bundle `x` (DIRS × FILES files) and bundle `y` (every file changed), and its source trees. */
function twoBundles() {
  const root = tempDir('swap');
  const store = path.join(root, 'store');
  const run = (...args: string[]) => cli(['--store', store, '--quiet', ...args]);
  assert.is(run('repo', 'create', 'r').code, 0);
  const sources: Record<string, string> = {};
  for (const [label, seed] of [['x', 0], ['y', 7]] as const) {
    const src = path.join(root, `src-${label}`);
    for (let d = 0; d < DIRS; d++) {
      for (let f = 0; f < FILES; f++) writeFile(src, `d${d}/f${f}`, seededBytes(seed + d * 100 + f, 20_000 + f * 997));
    }
    const up = run('bundle', 'upload', src, '--repo', 'r', '--label', label);
    assert.is(up.code, 0, up.stderr);
    sources[label] = src;
  }
  return { root, store, run, sources };
}

/**
 * Runs `command` (into `dest`) `runs` times with the swapper at work; asserts the directory outside never changes
 * and every run either equals `expected` exactly or fails with one line naming a swapped directory.
 */
async function underSwaps(runs: number, root: string, expected: string, prepare: (dest: string) => void, command: (dest: string) => string[]) {
  for (let run = 0; run < runs; run++) {
    const outside = path.join(root, `outside${run}`);
    mkdirSync(outside);
    for (let f = 0; f < FILES; f++) writeFileSync(path.join(outside, `f${f}`), `victim ${f}\n`);
    const before = outsideState(outside);
    const dest = path.join(root, `dest${run}`);
    prepare(dest);
    const stop = path.join(root, `stop${run}`);
    const mode = run % 2 ? 'written' : 'always';
    const swapper = spawn('python3', ['-c', SWAPPER, dest, outside, String(DIRS), stop, mode], { stdio: 'ignore' });
    const swapperDone = new Promise((resolve) => swapper.on('close', resolve));
    const r = await cliAwait(command(dest));
    writeFileSync(stop, '');
    await swapperDone;
    assert.is(outsideState(outside), before, `run ${run} (${mode}): the directory outside the destination was changed (exit ${r.code}: ${r.stderr})`);
    if (r.code === 0) {
      for (let d = 0; d < DIRS; d++) {
        const real = realDirOf(dest, `d${d}`);
        const diff = spawnSync('diff', ['-r', path.join(expected, `d${d}`), real], { stdio: 'ignore' });
        assert.is(diff.status, 0, `run ${run}: exit 0 but ${real} differs from the bundle`);
      }
    } else {
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /d\d+/, `run ${run}: the error names the swapped directory: ${r.stderr}`);
    }
  }
}

needsPython('download: writes never land outside; the run restores exactly or fails naming the swapped path', async () => {
  const { root, store, sources } = twoBundles();
  await underSwaps(8, root, sources.x!, () => undefined, (dest) => ['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'x']);
});

needsPython('update: nothing outside is written, removed or changed; the run updates exactly or fails naming the path', async () => {
  const { root, store, run, sources } = twoBundles();
  await underSwaps(4, root, sources.y!, (dest) => assert.is(run('bundle', 'download', dest, '--repo', 'r', '--label', 'x').code, 0),
    (dest) => ['--store', store, 'bundle', 'update', dest, '--repo', 'r', '--label', 'y', '--from', 'x']);
});

t.run();
