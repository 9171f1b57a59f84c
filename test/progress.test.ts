/**
 * Progress a person can read, through the built binary: the upload bar on a terminal (a pseudo-terminal made by
 * util-linux `script`) moves from below half to 100% within the terminal's width; off a terminal a first line
 * at once and the last one once; --json has the upload's counted total and download progress in batches.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliPath, runsIf, seededBytes, summaryOf, tempDir, writeFile } from './helpers.js';

const t = suite('progress: a real total, an ETA, lines that fit');
const hasScript = spawnSync('script', ['--version']).status === 0;

/** A store with repo `r`, and a source of `files` files of `size` bytes. */
function fixture(files: number, size: number) {
  const store = path.join(tempDir('prog'), 's');
  const src = tempDir('prog-src');
  for (let i = 0; i < files; i++) writeFile(src, `d${i % 3}/f${String(i).padStart(5, '0')}`, seededBytes(i + 1, size));
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  return { store, src, bytes: files * size };
}

// eslint-disable-next-line no-control-regex
const ESCAPES = /\x1b(\[[0-9;?]*[A-Za-z]|[78])/g;

runsIf(t, hasScript ? undefined : 'needs util-linux script for a pseudo-terminal')('the upload bar on a terminal: its percentage rises from below 50% to 100%, every frame within the width', () => {
  const { store, src } = fixture(40, 1024 * 1024);
  const cmd = `stty cols 72; exec "${process.execPath}" "${cliPath}" --store "${store}" --workers 1 bundle upload "${src}" --repo r`;
  const r = spawnSync('script', ['-qfc', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, DATAMOVER_HOME: tempDir('prog-home') } });
  assert.is(r.status, 0, r.stdout + r.stderr);
  // eslint-disable-next-line no-control-regex
  const frames = r.stdout.split(/\x1b\[1G|\r|\n/).map((f) => f.replace(ESCAPES, '')).filter((f) => f.length);
  const percents = frames.map((f) => /^(?:[█░]+ )?(\d+)% /.exec(f)?.[1]).filter((p) => p !== undefined).map(Number);
  assert.ok(percents.length >= 2, `frames: ${JSON.stringify(frames)}`);
  assert.ok(percents[0]! < 50, `the first frame is below 50%: ${percents.join(' ')}`);
  assert.is(percents[percents.length - 1], 100, percents.join(' '));
  for (let i = 1; i < percents.length; i++) assert.ok(percents[i]! >= percents[i - 1]!, `never goes back: ${percents.join(' ')}`);
  for (const f of frames.slice(0, -1)) assert.ok(f.length <= 72, `a progress line within 72 columns: ${f.length}: ${f}`);
  assert.ok(frames.some((f) => /ETA \d+:\d\d/.test(f)), 'an ETA');
  assert.match(frames[frames.length - 1]!, /^bundle [0-9A-Z]{26}: 40 files/);
});

t('off a terminal: a first progress line (after DATAMOVER_PROGRESS_DELAY_MS), the last (100%) once, nothing after the result', () => {
  const { store, src } = fixture(40, 2 * 1024 * 1024);
  const r = cli(['--store', store, '--workers', '1', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l'], { DATAMOVER_PROGRESS_DELAY_MS: '0' });
  assert.is(r.code, 0, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length >= 2, `a first line, then the last: ${r.stderr}`);
  // Before the count of the tree is in (it runs beside the hashing), a line has no percentage yet.
  for (const l of lines) assert.match(l, /^(\d+% \d+\.\d MiB of 80\.0 MiB, ETA (\d+:\d\d|--:--)|\d+\.\d MiB \(counting the total\)) \| \d+ files/);
  assert.not.match(lines[0]!, /^100%/);
  assert.match(lines[lines.length - 1]!, /^100% 80\.0 MiB of 80\.0 MiB, ETA 0:00 \| 40 files/);
  assert.is(lines.filter((l) => l.startsWith('100%')).length, 1, 'the last line once');
  const quick = fixture(3, 100);
  const q = cli(['--store', quick.store, 'bundle', 'upload', quick.src, '--repo', 'r']);
  assert.is(q.code, 0, q.stderr);
  assert.is(q.stderr, '', 'a run over within a second (the default delay) shows no progress');
});

t('--json: the upload\'s counted total (scan.done) before its end; download progress in batches, the last at the end', () => {
  const { store, src, bytes } = fixture(3000, 64);
  const up = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--label', 'l']);
  assert.is(up.code, 0, up.stderr);
  const events = up.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const total = events.find((e) => e.type === 'scan.done');
  assert.equal(total, { type: 'scan.done', files: 3000, bytes });
  const last = events.filter((e) => e.type === 'upload.progress').pop();
  assert.equal([last.filesDone, last.bytesHashed + last.unchangedBytes], [3000, bytes]);
  const d = cli(['--store', store, '--json', 'bundle', 'download', path.join(tempDir('prog-j'), 'o'), '--repo', 'r', '--label', 'l']);
  assert.is(d.code, 0, d.stderr);
  const progress = d.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'download.progress');
  assert.ok(progress.length >= 2 && progress.length < 100, `${progress.length} events for 3000 files`);
  assert.equal(progress[progress.length - 1], { type: 'download.progress', filesDone: 3000, bytesDone: bytes, skipped: 0 });
  assert.is(summaryOf(d.stdout).files, 3000);
});

t('--json: the counted total (scan.done) counts only what --exclude and --files leave in: it is the upload\'s own total', () => {
  const { store, src } = fixture(30, 100);
  writeFile(src, 'big/skipped.bin', seededBytes(99, 50_000));
  const ex = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--exclude', 'big', '--exclude', 'd2']);
  assert.is(ex.code, 0, ex.stderr);
  const exEvents = ex.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(exEvents.find((e) => e.type === 'scan.done'), { type: 'scan.done', files: 20, bytes: 2000 });
  assert.equal([summaryOf(ex.stdout).files, summaryOf(ex.stdout).bytes], [20, 2000], 'the upload took what was counted');
  const list = path.join(tempDir('prog-list'), 'list');
  writeFileSync(list, 'd0/\nd1/f00001\n');
  const ls = cli(['--store', store, '--json', 'bundle', 'upload', src, '--repo', 'r', '--files', list]);
  assert.is(ls.code, 0, ls.stderr);
  const lsEvents = ls.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lsEvents.find((e) => e.type === 'scan.done'), { type: 'scan.done', files: 11, bytes: 1100 });
});

t.run();
