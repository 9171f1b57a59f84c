/**
 * A destination directory swapped for a symlink while a download writes into it: nothing is written, renamed
 * or changed outside the destination, and the run either restores the bundle exactly or fails naming the path.
 * A separate process swaps directories in a tight loop while the download runs (seeded layout, many rounds).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAwait, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('destination swapped for a symlink during a download');

const DIRS = 12;
const FILES = 25;

/** Renames each d<i> aside and puts a symlink to `outside` in its place, over and over, until `stop` exists. */
const SWAPPER = `
const fs = require('node:fs'); const path = require('node:path');
const [dest, outside, dirs, stop] = process.argv.slice(1);
let round = 0;
while (!fs.existsSync(stop) && round < 200000) {
  round++;
  for (let i = 0; i < Number(dirs); i++) {
    const d = path.join(dest, 'd' + i);
    try { fs.renameSync(d, d + '.moved' + round); fs.symlinkSync(outside, d); } catch {}
  }
}
`;

function outsideState(dir: string): string {
  return readdirSync(dir).sort().map((n) => {
    const st = statSync(path.join(dir, n));
    return `${n}:${st.mode}:${st.mtimeMs}:${readFileSync(path.join(dir, n)).toString('hex').slice(0, 16)}`;
  }).join('\n');
}

t('writes never land outside: the run restores exactly or fails naming the swapped path', async () => {
  const root = tempDir('swap');
  const store = path.join(root, 'store');
  const src = path.join(root, 'src');
  for (let d = 0; d < DIRS; d++) {
    for (let f = 0; f < FILES; f++) writeFile(src, `d${d}/f${f}`, seededBytes(d * 100 + f, 20_000 + f * 997));
  }
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const up = cli(['--store', store, '--quiet', 'bundle', 'upload', src, '--repo', 'r', '--label', 'x']);
  assert.is(up.code, 0, up.stderr);
  let outsideWrites = 0;
  for (let run = 0; run < 8; run++) {
    const outside = path.join(root, `outside${run}`);
    mkdirSync(outside);
    for (let f = 0; f < FILES; f++) writeFileSync(path.join(outside, `f${f}`), `victim ${f}\n`);
    const before = outsideState(outside);
    const dest = path.join(root, `dest${run}`);
    const stop = path.join(root, `stop${run}`);
    const swapper = spawn(process.execPath, ['-e', SWAPPER, dest, outside, String(DIRS), stop], { stdio: 'ignore' });
    const r = await cliAwait(['--store', store, 'bundle', 'download', dest, '--repo', 'r', '--label', 'x']);
    writeFileSync(stop, '');
    await new Promise((resolve) => swapper.on('close', resolve));
    const after = outsideState(outside);
    console.log(`run ${run}: exit ${r.code} ${r.stderr.trim()}`);
    if (after !== before) outsideWrites++;
    assert.is(after, before, `run ${run}: the directory outside the destination was changed (exit ${r.code}: ${r.stderr})`);
    if (r.code === 0) {
      const diff = spawn('diff', ['-r', src, dest]);
      const code = await new Promise((resolve) => diff.on('close', resolve));
      assert.is(code, 0, `run ${run}: exit 0 but the destination differs from the bundle`);
    } else {
      assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /d\d+/, `run ${run}: the error names the swapped directory: ${r.stderr}`);
    }
  }
  assert.is(outsideWrites, 0);
});

t.run();
